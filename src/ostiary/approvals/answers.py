"""What the gateway says in the server's stead while a call waits: progress, and the deferred answer."""

from __future__ import annotations

import asyncio
from typing import Any

from ostiary import messages, methods
from ostiary.approvals.request import ApprovalRequest
from ostiary.pipeline import Action, Exchange, Verdict
from ostiary.store import now_us

US = 1_000_000


def progress(request: ApprovalRequest, exchange: Exchange, interval: float) -> asyncio.Task[None] | None:
    """Progress notifications every `interval` seconds while the call waits, if its client sent a
    progress token (None otherwise). Cancel the task when the wait ends."""
    meta = exchange.request.params.get("_meta") if exchange.request is not None else None
    token = meta.get("progressToken") if isinstance(meta, dict) else None
    if token is None or exchange.conversation is None:
        return None
    return asyncio.create_task(_report(request, exchange, token, interval))


async def _report(request: ApprovalRequest, exchange: Exchange, token: Any, interval: float) -> None:
    assert exchange.conversation is not None
    related = exchange.request.id if exchange.request is not None else None
    total = (request.expires_us - request.created_us) / US
    who = ", ".join(request.approvers) or "an operator"
    while True:
        params = {
            "progressToken": token,
            "progress": round((now_us() - request.created_us) / US, 1),
            "total": round(total, 1),
            "message": f"Waiting for approval {request.id} (approvers: {who})",
        }
        await exchange.conversation.tell(messages.notification(methods.PROGRESS, params), related)
        await asyncio.sleep(interval)


def deferred(request: ApprovalRequest) -> Verdict:
    """The tool result that tells the caller approval was requested, by whom, and what to do next."""
    who = ", ".join(request.approvers) or "an operator of this gateway"
    minutes = max(1, round((request.expires_us - request.created_us) / US / 60))
    text = (
        f"This call needs approval and did not run. Approval request {request.id} is waiting for "
        f"a reviewer ({who}). Once it is approved, make the identical call again within {minutes} "
        "minute(s) of the approval."
    )
    about = {"id": request.id, "status": request.status, "approvers": request.approvers}
    result = {
        "content": [{"type": "text", "text": text}],
        "isError": True,
        "_meta": {"io.ostiary/approval": about},
    }
    return Verdict(
        Action.DENY,
        "approval.deferred",
        "Approval was requested; the call did not run.",
        messages.result(0, result),
        {"approval_id": request.id},
    )
