"""Approval events as audit records: requested, decided, used up, expired, cancelled, abandoned.

They join the same hash chain as every pipeline decision, with the same search columns: the
principal is who acted (the requester, or the reviewer), the code says what happened.
"""

from __future__ import annotations

from typing import Any

from ostiary.approvals.request import ApprovalRequest
from ostiary.audit.redaction import redact, redact_text
from ostiary.store import now_us

VERSION = 1
ACTIONS = {
    "requested": "hold",
    "approved": "allow",
    "denied": "deny",
    "expired": "deny",
    "cancelled": "deny",
    "abandoned": "deny",
}


def approval_record(event: str, request: ApprovalRequest, actor: str | None = None) -> dict[str, Any]:
    """The audit body for one event of `request`; `actor` defaults to the requester, or the reviewer."""
    doc = request.document
    who = actor or (request.reviewer if event in ("approved", "denied") else None) or request.principal
    approval: dict[str, Any] = {
        "id": request.id,
        "status": request.status,
        "requester": request.principal,
        "args_hash": request.args_hash,
        "rule": doc.get("rule"),
        "approvers": request.approvers,
        "mode": request.mode,
        "policy_version": doc.get("policy_version"),
        "created_us": request.created_us,
        "expires_us": request.expires_us,
    }
    if request.decided_us is not None:
        approval["decided_us"] = request.decided_us
        approval["waited_ms"] = round((request.decided_us - request.created_us) / 1000, 3)
    if request.reviewer is not None:
        approval["reviewer"] = request.reviewer
        approval["reviewer_method"] = doc.get("reviewer_method")
        approval["channel"] = doc.get("channel")
        reason = doc.get("decision_reason")
        approval["decision_reason"] = redact_text(reason) if isinstance(reason, str) and reason else None
    if event == "requested":
        approval["findings"] = redact(doc.get("findings", []))
    body: dict[str, Any] = {
        "v": VERSION,
        "ts_us": now_us(),
        "hook": "approval",
        "kind": "approval",
        "method": f"approvals/{event}",
        "session": request.session,
        "principal": who,
        "server": request.server,
        "target": redact_text(request.target),
        "action": ACTIONS.get(event, "deny"),
        "code": f"approval.{event}",
        "inspection": "approval",
        "reason": redact_text(str(doc.get("reason") or "")) or None,
        "approval": approval,
        "args_digest": request.args_hash,
        "links": {"approval": request.id},
    }
    if event == "requested":
        body["args"] = redact(doc.get("arguments"))
    return body
