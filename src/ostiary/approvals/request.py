"""An approval request: one held call, bound to the hash of exactly what it asked, and its decision.

The binding is a SHA-256 over the canonical JSON of server, method, target and arguments: a call
whose arguments differ by one byte is a different request, and a decision is used at most once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from ostiary.identity import Principal

PENDING = "pending"
APPROVED = "approved"
DENIED = "denied"
EXPIRED = "expired"
# The caller went away (cancelled the call, closed the session, the gateway shut down).
CANCELLED = "cancelled"
# The gateway holding the call stopped answering: nobody is left to run it.
ABANDONED = "abandoned"
FINAL = frozenset({APPROVED, DENIED, EXPIRED, CANCELLED, ABANDONED})
SELF = "self"


def binding(server: str, method: str, target: str, arguments: Any) -> str:
    """The hash an approval is bound to: what runs if it is granted, and nothing else."""
    from ostiary.audit.canonical import digest  # noqa: PLC0415  (the audit package loads the store)

    return digest({"server": server, "method": method, "target": target, "arguments": arguments})


def new_id() -> str:
    return "apr_" + secrets.token_hex(8)


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    id: str
    status: str
    created_us: int
    expires_us: int
    heartbeat_us: int
    holder: str
    mode: str
    principal: str
    principal_key: str
    session: str
    server: str
    method: str
    target: str
    args_hash: str
    # arguments (redacted), rule, rule_text, reason, findings, approvers, host, policy_version;
    # once decided: reviewer_method, decision_reason, channel.
    document: dict[str, Any] = field(default_factory=dict)
    decided_us: int | None = None
    used_us: int | None = None
    reviewer: str | None = None

    @property
    def approvers(self) -> list[str]:
        found = self.document.get("approvers")
        return [str(a) for a in found] if isinstance(found, list) else []

    def shown_status(self, now_us: int, stale_us: int) -> str:
        """The status a reader should see: a pending request past its expiry is expired, and one
        whose holder stopped beating is abandoned, even before anyone wrote that down."""
        if self.status != PENDING:
            return self.status
        if now_us >= self.expires_us:
            return EXPIRED
        if self.mode == "wait" and self.heartbeat_us < now_us - stale_us:
            return ABANDONED
        return PENDING

    def decided(
        self, status: str, reviewer: Principal, reason: str, channel: str, at_us: int
    ) -> ApprovalRequest:
        document = {
            **self.document,
            "reviewer_method": reviewer.method,
            "decision_reason": reason,
            "channel": channel,
        }
        return replace(self, status=status, reviewer=reviewer.subject, decided_us=at_us, document=document)

    def summary(self, now_us: int, stale_us: int) -> dict[str, Any]:
        """The request as the CLI, the API and the webhook show it."""
        doc = self.document
        return {
            "id": self.id,
            "status": self.shown_status(now_us, stale_us),
            "principal": self.principal,
            "session": self.session,
            "host": doc.get("host"),
            "server": self.server,
            "method": self.method,
            "tool": self.target,
            "arguments": doc.get("arguments"),
            "args_hash": self.args_hash,
            "rule": doc.get("rule"),
            "rule_text": doc.get("rule_text"),
            "reason": doc.get("reason"),
            "findings": doc.get("findings", []),
            "approvers": self.approvers,
            "policy_version": doc.get("policy_version"),
            "mode": self.mode,
            "created_us": self.created_us,
            "expires_us": self.expires_us,
            "decided_us": self.decided_us,
            "used_us": self.used_us,
            "reviewer": self.reviewer,
            "reviewer_method": doc.get("reviewer_method"),
            "decision_reason": doc.get("decision_reason"),
            "channel": doc.get("channel"),
        }


class ReviewError(Exception):
    """A decision was not recorded; `code` is stable (not_found, not_pending, refused, conflict)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def refusal(request: ApprovalRequest, reviewer: Principal) -> str | None:
    """Why `reviewer` may not decide `request`, or None if they may.

    Separation of duties: the requester never decides their own request unless the approvers say
    `self`. With no approvers named anywhere, only a local operator (the OS user at the gateway's
    machine, through `ostiary approvals`) who is not the requester may decide."""
    same = reviewer.subject == request.principal
    approvers = request.approvers
    if same:
        if SELF in approvers:
            return None
        return "a requester may not approve their own request (the rule's approvers do not include 'self')"
    if not approvers:
        if reviewer.method == "local":
            return None
        return "no approvers are named for this request; only a local operator may decide it"
    for entry in approvers:
        kind, sep, value = entry.partition(":")
        if not sep:
            if entry != SELF and entry == reviewer.subject:
                return None
        elif (
            (kind == "group" and value in reviewer.groups)
            or (kind == "scope" and value in reviewer.scopes)
            or (kind in ("subject", "principal") and value == reviewer.subject)
        ):
            return None
    return "this reviewer is not among the request's approvers"
