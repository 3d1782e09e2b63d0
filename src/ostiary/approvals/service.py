"""The approval service: the pipeline's Approver, turning a held call into a request a human decides.

A held call becomes a stored request bound to its arguments' hash. Then, in order of preference:
the host's user is asked in the conversation (when the approvers include `self` and the client
can be asked), or the call waits (`mode: wait`) until a reviewer decides elsewhere or the request
expires, with progress to a client that asked for it; or (`mode: deferred`) the caller is told at
once, and an identical call within the approval's lifetime goes through. A grant is spent on one
call only. If the policy changed while the call waited, the call is judged again before it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import replace
from typing import Any

from ostiary import methods
from ostiary.approvals import answers, prompt
from ostiary.approvals.broker import Broker
from ostiary.approvals.findings import Findings
from ostiary.approvals.records import approval_record
from ostiary.approvals.request import (
    ABANDONED,
    APPROVED,
    CANCELLED,
    DENIED,
    EXPIRED,
    FINAL,
    PENDING,
    SELF,
    ApprovalRequest,
    ReviewError,
    binding,
    new_id,
)
from ostiary.approvals.review import review
from ostiary.approvals.settings import ApprovalSettings
from ostiary.approvals.store import ApprovalStore
from ostiary.approvals.webhook import Webhook
from ostiary.audit.redaction import redact
from ostiary.identity import Principal
from ostiary.messages import Kind, Message
from ostiary.pipeline import Action, Exchange, Inspection, Verdict, allow, deny, modify
from ostiary.store import SqlStore, now_us

log = logging.getLogger("ostiary.approvals")
CALLS = frozenset({methods.TOOLS_CALL, methods.PROMPTS_GET, methods.RESOURCES_READ})
US = 1_000_000
# How a principal is known when the gateway authenticates nobody (identity.py).
LOCAL_METHODS = frozenset({"local", "config"})
# The mode of a request the client holds (a 2026-07-28 input request): no gateway beats its heart.
ASKED = "asked"


def _arguments(method: str, params: dict[str, Any]) -> Any:
    if method == methods.RESOURCES_READ:
        return {"uri": params.get("uri")}
    found = params.get("arguments")
    return found if isinstance(found, dict) else {}


def _answered(request: ApprovalRequest, code: str, reason: str) -> Verdict:
    return deny(code, reason, approval_id=request.id)


class ApprovalService:
    """Implements the pipeline's `Approver`."""

    def __init__(self, settings: ApprovalSettings) -> None:
        self.settings = settings
        self.holder = "gw_" + secrets.token_hex(6)
        self.store: ApprovalStore | None = None
        self.broker: Broker | None = None
        self.audit: Any = None
        self.policy: Inspection | None = None
        self.webhook = Webhook(settings.webhook) if settings.webhook is not None else None
        self._ending: set[asyncio.Future[bool]] = set()
        # An observer of every decision, for what a reviewer is shown beside the call.
        self.findings = Findings()

    @property
    def stale_us(self) -> int:
        return int(3 * self.settings.heartbeat * US)

    async def start(self, store: SqlStore, audit: Any, policy: Inspection | None) -> None:
        """Begin answering holds: `audit` appends records to the chain; `policy` re-judges a call
        whose policy changed while it waited."""
        self.store = ApprovalStore(store)
        self.audit = audit
        self.policy = policy
        self.broker = Broker(self.store, self.holder, self.settings.poll_interval, self.settings.heartbeat)
        await self.broker.start()
        # What stopped gateways left behind goes on the record as expired or abandoned.
        for ended in await self.store.sweep(now_us(), self.stale_us):
            await self._record(ended.status, ended)

    async def close(self) -> None:
        await asyncio.sleep(0)  # calls cancelled as their sessions closed record that first
        if self._ending:
            await asyncio.wait(list(self._ending), timeout=5)
        if self.broker is not None:
            await self.broker.close()
        if self.webhook is not None:
            await self.webhook.close()

    # ------------------------------------------------------------------ observing

    # ------------------------------------------------------------------ the Approver

    async def decide(self, message: Message, exchange: Exchange, held: Verdict) -> Verdict:
        store = self.store
        if store is None or not self.settings.enabled:
            return deny(
                "approval.unavailable",
                "This request needs a reviewer's approval and no approval service is running.",
                held_by=held.inspection,
                held_code=held.code,
            )
        if exchange.method not in CALLS or exchange.server is None or exchange.target is None:
            return deny(
                "approval.unavailable", "Only calls of a known tool, prompt or resource can be approved."
            )
        params = message.params
        args_hash = binding(
            exchange.server, exchange.method, exchange.target, _arguments(exchange.method, params)
        )
        answered_id = prompt.state_of(params)
        if answered_id is not None:
            return await self._answered_by_retry(answered_id, message, exchange, args_hash)
        now = now_us()
        for earlier in await store.reusable(exchange.principal.key, args_hash, now):
            if earlier.status == APPROVED and await store.use(earlier.id, args_hash, now):
                exchange.notes["approval_id"] = earlier.id
                return await self._granted(earlier, message, exchange)
            if earlier.status == PENDING and earlier.mode == "deferred" and self.settings.mode == "deferred":
                exchange.notes["approval_id"] = earlier.id
                return answers.deferred(earlier)
        request = self._new_request(message, exchange, held, args_hash, now)
        ask = self._can_ask(request, exchange)
        if ask and _is_modern(exchange):
            # The client, not this gateway, holds the call until its user answers.
            request = replace(request, mode=ASKED)
        await store.create(request)
        exchange.notes["approval_id"] = request.id
        await self._record("requested", request)
        self._notify("created", request)
        if request.mode == ASKED:
            return Verdict(
                Action.DENY,
                "approval.input_required",
                "The host's user is asked to approve this call.",
                prompt.input_required(request),
                {"approval_id": request.id},
            )
        if request.mode == "deferred" and not ask:
            return answers.deferred(request)
        return await self._hold(request, message, exchange, ask=ask)

    def _can_ask(self, request: ApprovalRequest, exchange: Exchange) -> bool:
        """Whether the host's user may approve and the client can be asked in the conversation."""
        conversation = exchange.conversation
        if SELF not in request.approvers or not self.settings.in_conversation or conversation is None:
            return False
        return isinstance(conversation.client_capabilities().get("elicitation"), dict)

    def _new_request(
        self, message: Message, exchange: Exchange, held: Verdict, args_hash: str, now: int
    ) -> ApprovalRequest:
        details = held.details
        approvers = details.get("approvers")
        if not isinstance(approvers, (list, tuple)) or not approvers:
            approvers = list(self.settings.approvers)
        principal = exchange.principal
        if not approvers and principal.method in LOCAL_METHODS:
            # A gateway that authenticates nobody (`ostiary run`, or `serve` on loopback without
            # `auth:`) knows one person, its user: nobody else could ever approve.
            approvers = [SELF]
        expires = details.get("expires")
        lifetime = (
            float(expires) if isinstance(expires, (int, float)) and expires > 0 else self.settings.expires
        )
        info = exchange.client_info
        document = {
            "arguments": redact(_arguments(exchange.method, message.params)),
            "rule": details.get("rule"),
            "rule_text": details.get("rule_text"),
            "reason": held.reason,
            "held_by": held.inspection,
            "held_code": held.code,
            "findings": self.findings.for_call(exchange),
            "approvers": [str(a) for a in approvers],
            "policy_version": details.get("policy_version"),
            "host": {k: info[k] for k in ("name", "version") if k in info} if info else {},
            "principal_method": principal.method,
        }
        return ApprovalRequest(
            id=new_id(),
            status=PENDING,
            created_us=now,
            expires_us=now + int(lifetime * US),
            heartbeat_us=now,
            holder=self.holder,
            mode=self.settings.mode,
            principal=principal.subject,
            principal_key=principal.key,
            session=exchange.session_id,
            server=exchange.server or "",
            method=exchange.method,
            target=exchange.target or "",
            args_hash=args_hash,
            document=document,
        )

    # ------------------------------------------------------------------ waiting

    async def _hold(
        self, request: ApprovalRequest, message: Message, exchange: Exchange, ask: bool
    ) -> Verdict:
        assert self.store is not None and self.broker is not None
        remaining = max(0.0, (request.expires_us - now_us()) / US)
        waiting: list[asyncio.Task[Any]] = [asyncio.ensure_future(self.broker.wait(request.id))]
        if ask and exchange.conversation is not None:
            waiting.append(asyncio.ensure_future(self._ask(request, exchange, remaining)))
        progress = answers.progress(request, exchange, self.settings.progress_interval)
        try:
            done, _ = await asyncio.wait(waiting, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            final = next((f for f in (t.result() for t in done) if _final(f)), None)
            remaining = max(0.0, (request.expires_us - now_us()) / US)
            if final is None and remaining > 0:
                # The client could not be asked after all (or answered too late for its answer to
                # count): wait for a decision made elsewhere.
                done, _ = await asyncio.wait(waiting[:1], timeout=remaining)
                final = next(iter(done)).result() if done else None
        except asyncio.CancelledError:
            ending = asyncio.ensure_future(self._end(request, CANCELLED))
            self._ending.add(ending)
            ending.add_done_callback(self._ending.discard)
            await asyncio.shield(ending)
            raise
        finally:
            for task in (*waiting, *([progress] if progress is not None else [])):
                task.cancel()
        if final is None and not await self._end(request, EXPIRED):
            final = await self.store.get(request.id)  # decided in the last instant: that stands
        if final is None or not _final(final):
            return _answered(request, "approval.expired", "Nobody approved this request before it expired.")
        return await self._outcome(final, message, exchange)

    async def _ask(
        self, request: ApprovalRequest, exchange: Exchange, limit: float
    ) -> ApprovalRequest | None:
        """Ask the host's user; their answer decides the request. None: the client could not answer."""
        assert exchange.conversation is not None and self.store is not None
        related = exchange.request.id if exchange.request is not None else None
        reply = await exchange.conversation.ask_own(prompt.ask_message(request), related, limit)
        if reply.kind is not Kind.RESULT:
            log.info("approvals: the client could not be asked (%s); waiting for a reviewer", request.id)
            return None
        return await self._conversation_answer(request, exchange.principal, reply.result)

    async def _conversation_answer(
        self, request: ApprovalRequest, principal: Principal, result: Any
    ) -> ApprovalRequest | None:
        assert self.store is not None
        action, reason = prompt.answer(result)
        if action == "cancel" and not reason:
            reason = "cancelled by the user"
        try:
            decided = await review(
                self.store, request.id, principal, action == "accept", reason,
                f"conversation:{action}", self.stale_us, check_reviewer=False,
            )  # fmt: skip
        except ReviewError:
            return await self.store.get(request.id)  # decided elsewhere first: that decision stands
        await self._record("approved" if decided.status == APPROVED else "denied", decided)
        self._notify("decided", decided)
        if self.broker is not None:
            self.broker.poke()
        return decided

    async def _end(self, request: ApprovalRequest, status: str) -> bool:
        """End a request nobody decided; False if it had been decided (or ended) meanwhile."""
        assert self.store is not None
        try:
            if not await self.store.finish(request.id, status, now_us()):
                return False
            ended = await self.store.get(request.id)
            if ended is not None:
                await self._record(status, ended)
                self._notify("decided", ended)
        except Exception:
            log.exception("approvals: could not record that %s is %s", request.id, status)
        return True

    # ------------------------------------------------------------------ outcomes

    async def _outcome(self, final: ApprovalRequest, message: Message, exchange: Exchange) -> Verdict:
        assert self.store is not None
        if final.status == APPROVED:
            if not await self.store.use(final.id, final.args_hash, now_us()):
                return _answered(final, "approval.used", "This approval was already used.")
            return await self._granted(final, message, exchange)
        if final.status == DENIED:
            reason = str(final.document.get("decision_reason") or "").strip()
            text = f"Denied by reviewer {final.reviewer}" + (f": {reason[:200]}" if reason else ".")
            return Verdict(
                Action.DENY, "approval.denied", text,
                details={"approval_id": final.id, "reviewer": final.reviewer,
                         "channel": final.document.get("channel")},
            )  # fmt: skip
        if final.status == EXPIRED:
            return _answered(final, "approval.expired", "Nobody approved this request before it expired.")
        if final.status == ABANDONED:
            return _answered(final, "approval.abandoned", "The approval request was abandoned.")
        return _answered(final, "approval.cancelled", "The approval request was cancelled.")

    async def _granted(self, request: ApprovalRequest, message: Message, exchange: Exchange) -> Verdict:
        details = {
            "approval_id": request.id,
            "reviewer": request.reviewer,
            "reviewer_method": request.document.get("reviewer_method"),
            "channel": request.document.get("channel"),
            "waited_ms": round(((request.decided_us or request.created_us) - request.created_us) / 1000, 3),
        }
        again = await self._rejudge(request, message, exchange)
        if again is not None and again.action is Action.DENY:
            return Verdict(Action.DENY, again.code, again.reason, details={**again.details, **details})
        reason = f"Approved by {request.reviewer}."
        cleaned = prompt.without_answer(message.params)
        if again is not None and again.action is Action.MODIFY and again.replacement is not None:
            cleaned = prompt.without_answer(again.replacement.params)
        if cleaned != message.params:
            return modify(message.with_params(cleaned), "approval.granted", reason, **details)
        return allow("approval.granted", reason, **details)

    async def _rejudge(
        self, request: ApprovalRequest, message: Message, exchange: Exchange
    ) -> Verdict | None:
        """The policy's verdict now, if it changed since the request was made (else None)."""
        policy = self.policy
        version = request.document.get("policy_version")
        current = getattr(getattr(policy, "source", None), "version", None)
        if policy is None or version is None or current is None or current == version:
            return None
        log.info("approvals: the policy changed while %s waited; judging it again", request.id)
        return await policy.on_client_request(message, exchange)

    async def _answered_by_retry(
        self, request_id: str, message: Message, exchange: Exchange, args_hash: str
    ) -> Verdict:
        """A 2026-07-28 client's retry carrying its user's answer to the gateway's question."""
        assert self.store is not None
        exchange.notes["approval_id"] = request_id
        request = await self.store.get(request_id)
        if request is None or request.principal_key != exchange.principal.key:
            return deny("approval.unknown", "This call names an approval request that is not its own.")
        if request.args_hash != args_hash:
            return _answered(
                request,
                "approval.mismatch",
                "The approval was asked for other arguments; this call was refused.",
            )
        if request.status == PENDING and (request.mode != ASKED or SELF not in request.approvers):
            # Only a question the gateway put to this client can be answered by it.
            return _answered(
                request, "approval.not_asked", "This approval request was not put to this client."
            )
        if request.status == PENDING:
            responses = message.params.get("inputResponses")
            answer = responses.get(prompt.INPUT_KEY) if isinstance(responses, dict) else None
            decided = await self._conversation_answer(request, exchange.principal, answer)
            request = decided if decided is not None else request
        if request.status == PENDING:
            shown = request.shown_status(now_us(), self.stale_us)
            if shown == PENDING:
                return _answered(request, "approval.pending", "The approval request is still pending.")
            await self._end(request, shown)  # answered too late: it expired meanwhile
            request = replace(request, status=shown)
        return await self._outcome(request, message, exchange)

    # ------------------------------------------------------------------ reviewers elsewhere (API)

    async def decide_as(
        self, request_id: str, reviewer: Principal, approve: bool, reason: str, channel: str
    ) -> ApprovalRequest:
        """A reviewer's decision made through this gateway (the HTTP API); raises ReviewError."""
        if self.store is None:
            raise ReviewError("unavailable", "the approval service is not running")
        decided = await review(self.store, request_id, reviewer, approve, reason, channel, self.stale_us)
        await self._record("approved" if approve else "denied", decided)
        self._notify("decided", decided)
        if self.broker is not None:
            self.broker.poke()
        return decided

    # ------------------------------------------------------------------ records

    async def _record(self, event: str, request: ApprovalRequest) -> None:
        if self.audit is not None:
            await self.audit.append(approval_record(event, request))

    def _notify(self, event: str, request: ApprovalRequest) -> None:
        if self.webhook is not None:
            with contextlib.suppress(RuntimeError):
                self.webhook.send(event, request.summary(now_us(), self.stale_us))


def _final(found: object) -> bool:
    return isinstance(found, ApprovalRequest) and found.status in FINAL


def _is_modern(exchange: Exchange) -> bool:
    request = exchange.request
    meta = request.params.get("_meta") if request is not None else None
    return isinstance(meta, dict) and methods.META_PROTOCOL_VERSION in meta
