"""Asking the host's user in the conversation: the elicitation that shows what is asked, and its answer.

A 2025-era client that declared `elicitation` gets an `elicitation/create` request of the
gateway's own; a 2026-07-28 client gets the same question as an `InputRequiredResult` whose
`requestState` names the approval request, and answers by retrying the call. The arguments come
from the model and are untrusted: they are shown as JSON, redacted and shortened, never as text
that could pass for the gateway's own words.
"""

from __future__ import annotations

from typing import Any

import orjson

from ostiary import messages
from ostiary.approvals.request import ApprovalRequest
from ostiary.messages import Message

ELICIT = "elicitation/create"
# The key of the gateway's question among a 2026-07-28 result's input requests.
INPUT_KEY = "ostiary.approval"
# A requestState this prefix starts is the gateway's own, never a server's.
STATE_PREFIX = "ostiary.approval:"
SHOWN_ARGUMENTS = 1500
SCHEMA = {
    "type": "object",
    "properties": {"reason": {"type": "string", "title": "Reason (optional)"}},
}


def question(request: ApprovalRequest) -> dict[str, Any]:
    """The `elicitation/create` params asking the user to approve this request."""
    doc = request.document
    shown = orjson.dumps(doc.get("arguments"), option=orjson.OPT_SORT_KEYS).decode()
    if len(shown) > SHOWN_ARGUMENTS:
        shown = shown[:SHOWN_ARGUMENTS] + " …(shortened)"
    why = doc.get("reason") or "A policy rule asks for approval."
    text = (
        f"Ostiary: approve this call?\n"
        f"Server: {request.server}\nTool: {request.target}\nArguments (JSON): {shown}\n"
        f"Why approval is needed: {why}\nRequest: {request.id}"
    )
    return {"mode": "form", "message": text, "requestedSchema": SCHEMA}


def ask_message(request: ApprovalRequest) -> Message:
    return messages.request(0, ELICIT, question(request))


def input_required(request: ApprovalRequest) -> Message:
    """The 2026-07-28 result that asks the client's user and brings the answer back on a retry."""
    result = {
        "resultType": "input_required",
        "inputRequests": {INPUT_KEY: {"method": ELICIT, "params": question(request)}},
        "requestState": STATE_PREFIX + request.id,
    }
    return messages.result(0, result)


def state_of(params: dict[str, Any]) -> str | None:
    """The approval request id a retry's `requestState` names, if it is the gateway's own."""
    state = params.get("requestState")
    if isinstance(state, str) and state.startswith(STATE_PREFIX):
        return state[len(STATE_PREFIX) :]
    return None


def answer(result: Any) -> tuple[str, str]:
    """(action, reason) from an elicitation result: accept, decline or cancel (anything else is cancel)."""
    if not isinstance(result, dict):
        return "cancel", ""
    action = result.get("action")
    content = result.get("content")
    reason = content.get("reason") if isinstance(content, dict) else None
    text = reason[:500] if isinstance(reason, str) else ""
    return (action if action in ("accept", "decline", "cancel") else "cancel"), text


def without_answer(params: dict[str, Any]) -> dict[str, Any]:
    """A retry's params without the gateway's own state and answer: what the server must see."""
    out = {k: v for k, v in params.items() if k not in ("requestState", "inputResponses")}
    responses = params.get("inputResponses")
    if isinstance(responses, dict):
        rest = {k: v for k, v in responses.items() if k != INPUT_KEY}
        if rest:
            out["inputResponses"] = rest
    return out
