"""Runs the configured stages over one message and returns the final decision.

Order is the configuration's. The first enforcing DENY ends the chain; MODIFY replaces the
message for the stages after it; HOLD waits on the approver. Monitoring stages are recorded and
otherwise ignored. Every decision, including failures, goes to every observer before the caller
may forward anything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace

from ostiary.boundedcache import BoundedCache
from ostiary.messages import Message
from ostiary.pipeline.eager import run_eagerly
from ostiary.pipeline.exchange import Exchange, Hook
from ostiary.pipeline.inspection import Inspection, Mode
from ostiary.pipeline.observer import Approver, NoApprover, Observer
from ostiary.pipeline.verdict import ALLOW, Action, Verdict, deny

# Hook and method pairs whose stage lists are remembered (MCP has a few dozen methods).
STAGE_CACHE_SIZE = 1024

log = logging.getLogger("ostiary.pipeline")
# The exchange note holding the verdicts a held message had collected when it was held.
HELD_AFTER_NOTE = "pipeline.held_after"


@dataclass(frozen=True, slots=True)
class Stage:
    inspection: Inspection
    mode: Mode = Mode.ENFORCE
    timeout: float = 5.0

    @property
    def name(self) -> str:
        return self.inspection.name or type(self.inspection).__name__


@dataclass(slots=True)
class Decision:
    hook: Hook
    exchange: Exchange
    original: Message
    # What goes on: the original, or the last enforced replacement. Meaningless when not forwarded.
    message: Message
    # The deciding verdict: the denial, the last modification, or ALLOW.
    verdict: Verdict
    # Every verdict other than a plain allow, in order, including monitored ones.
    verdicts: list[Verdict] = field(default_factory=list)
    monitored: list[Verdict] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def forwarded(self) -> bool:
        return self.verdict.action is not Action.DENY


class Pipeline:
    def __init__(
        self,
        stages: list[Stage] | None = None,
        observers: list[Observer] | None = None,
        approver: Approver | None = None,
    ) -> None:
        self.stages = list(stages or [])
        self.observers = list(observers or [])
        self.approver: Approver = approver or NoApprover()
        # Per hook and method: a peer that invents method names cannot grow it without bound.
        self._cache: BoundedCache[tuple[Hook, str], tuple[Stage, ...]] = BoundedCache(STAGE_CACHE_SIZE)
        self._ready: asyncio.Event | None = None
        self._unavailable: str | None = None

    def hold(self) -> None:
        """Let nothing through until `release`: the observers (the audit log) are still opening."""
        self._ready = asyncio.Event()

    def release(self, failure: str | None = None) -> None:
        """Let messages through, or, with a failure, deny every one of them from now on."""
        self._unavailable = failure
        if self._ready is not None:
            self._ready.set()

    def add_observer(self, observer: Observer) -> None:
        self.observers.append(observer)

    def _stages_for(self, hook: Hook, method: str) -> tuple[Stage, ...]:
        key = (hook, method)
        found = self._cache.get(key)
        if found is None:
            found = tuple(
                s
                for s in self.stages
                if s.inspection.implements(hook)
                and (s.inspection.methods is None or method in s.inspection.methods)
            )
            self._cache.put(key, found)
        return found

    async def run(self, hook: Hook, message: Message, exchange: Exchange, record: bool = True) -> Decision:
        """Judge one message. `record=False` lets a plain allow go unrecorded (progress beyond the
        first of a call is coalesced); whatever a stage acted on is always recorded."""
        started = time.perf_counter()
        decision = Decision(hook, exchange, message, message, ALLOW)
        if self._ready is not None and not self._ready.is_set():
            await self._ready.wait()
        if self._unavailable is not None:
            decision.verdict = replace(deny("gateway.unavailable", self._unavailable), inspection="gateway")
            return decision
        for stage in self._stages_for(hook, exchange.method):
            verdict = await self._judge(stage, hook, decision.message, exchange)
            if verdict.is_allow:
                if verdict.code != "allow":
                    decision.verdicts.append(verdict)
                continue
            decision.verdicts.append(verdict)
            if stage.mode is Mode.MONITOR:
                decision.monitored.append(verdict)
                continue
            if verdict.action is Action.HOLD:
                exchange.notes[HELD_AFTER_NOTE] = list(decision.verdicts)  # what the reviewer is shown
                verdict = await self._await_approval(decision.message, exchange, verdict)
                decision.verdicts.append(verdict)
                if verdict.is_allow:
                    decision.verdict = verdict  # the record names the approval (and its reviewer)
                    continue
            if verdict.action is Action.MODIFY:
                if verdict.replacement is None:
                    verdict = deny("inspection.error", "A stage modified a message without a replacement.")
                    verdict = replace(verdict, inspection=stage.name)
                else:
                    decision.message = verdict.replacement
                    decision.verdict = verdict
                    continue
            decision.verdict = verdict
            break
        decision.elapsed = time.perf_counter() - started
        if not record and not decision.verdicts:
            return decision
        for observer in self.observers:
            try:
                await observer.observe(decision)
            except Exception:
                log.exception("observer %s failed; the message is stopped", type(observer).__name__)
                decision.verdict = deny("observer.failed", "The gateway could not record this message.")
        return decision

    async def refuse(self, hook: Hook, message: Message, exchange: Exchange, verdict: Verdict) -> Decision:
        """Record a message the gateway itself refuses before any stage could see it (a request
        sent as a notification, a malformed method name, a flood): refused, yet never unrecorded."""
        decision = Decision(hook, exchange, message, message, replace(verdict, inspection="gateway"))
        if self._ready is not None and not self._ready.is_set():
            await self._ready.wait()
        decision.verdicts.append(decision.verdict)
        for observer in self.observers:
            try:
                await observer.observe(decision)
            except Exception:
                log.exception("observer %s failed on a refused message", type(observer).__name__)
        return decision

    async def _judge(self, stage: Stage, hook: Hook, message: Message, exchange: Exchange) -> Verdict:
        try:
            # At once, up to its first wait; only the waiting is timed (see pipeline/eager.py).
            hook_call = getattr(stage.inspection, hook.value)(message, exchange)
            verdict = await run_eagerly(hook_call, stage.timeout)
        except TimeoutError:
            log.warning("inspection %s timed out on %s %s", stage.name, hook.value, exchange.method)
            verdict = deny("inspection.timeout", "An inspection did not finish in time.")
        except Exception:
            log.exception("inspection %s failed on %s %s", stage.name, hook.value, exchange.method)
            verdict = deny("inspection.error", "An inspection failed.")
        if verdict is ALLOW:
            return verdict
        if not isinstance(verdict, Verdict):
            verdict = deny("inspection.error", "An inspection returned no verdict.")
        return verdict if verdict.inspection else replace(verdict, inspection=stage.name)

    async def _await_approval(self, message: Message, exchange: Exchange, held: Verdict) -> Verdict:
        try:
            decided = await self.approver.decide(message, exchange, held)
        except Exception:
            log.exception("approver failed")
            decided = deny("approval.error", "The approval service failed.")
        # MODIFY: granted, with what the approval itself added to the call taken out again.
        if decided.action not in (Action.ALLOW, Action.DENY, Action.MODIFY):
            decided = deny("approval.error", "The approval service returned no decision.")
        return decided if decided.inspection else replace(decided, inspection="approval")

    async def start(self) -> None:
        for stage in self.stages:
            await stage.inspection.start()

    async def close(self) -> None:
        for stage in self.stages:
            try:
                await stage.inspection.close()
            except Exception:
                log.exception("inspection %s failed to close", stage.name)
