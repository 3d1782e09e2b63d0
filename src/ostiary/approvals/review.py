"""A reviewer's decision, made the same way from the terminal, the HTTP API and the conversation."""

from __future__ import annotations

from dataclasses import replace

from ostiary.approvals.request import APPROVED, DENIED, PENDING, ApprovalRequest, ReviewError, refusal
from ostiary.approvals.store import ApprovalStore
from ostiary.identity import Principal
from ostiary.store import now_us


async def review(
    store: ApprovalStore,
    request_id: str,
    reviewer: Principal,
    approve: bool,
    reason: str,
    channel: str,
    stale_us: int,
    check_reviewer: bool = True,
) -> ApprovalRequest:
    """Decide a pending request; raises ReviewError if this reviewer may not, or it is too late.

    `check_reviewer` is False only for an answer given in the requester's own conversation, which
    the service accepts only where the approvers include `self`."""
    found = await store.get(request_id)
    if found is None:
        raise ReviewError("not_found", f"no approval request {request_id}")
    now = now_us()
    status = found.shown_status(now, stale_us)
    if status != PENDING:
        raise ReviewError("not_pending", f"request {request_id} is {status}, not pending")
    if check_reviewer:
        why = refusal(found, reviewer)
        if why is not None:
            raise ReviewError("refused", why)
    decided = found.decided(APPROVED if approve else DENIED, reviewer, reason, channel, now)
    if approve and found.mode == "deferred":
        # A deferred approval is used by a later identical call: its lifetime starts now.
        lifetime = found.expires_us - found.created_us
        decided = replace(decided, expires_us=now + lifetime)
    if not await store.decide(decided, now, now - stale_us):
        raise ReviewError("conflict", f"request {request_id} was decided elsewhere, or is no longer pending")
    return decided
