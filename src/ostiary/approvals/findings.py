"""What a reviewer is shown besides the call: what the inspections said about it, and about the
results that came before it in the same session.

A call that follows flagged content (an injection warning on a page the agent read, a secret in
a file it opened) deserves a closer look; the reviewer sees the stages' codes, never the content.
"""

from __future__ import annotations

import collections
from typing import Any

from ostiary.pipeline import Action, Decision, Exchange, Hook, Verdict
from ostiary.pipeline.chain import HELD_AFTER_NOTE

SESSIONS_REMEMBERED = 1000
FINDINGS_PER_SESSION = 20


class Findings:
    """An observer of every decision that keeps, per session, the last verdicts on results."""

    def __init__(self) -> None:
        self._sessions: collections.OrderedDict[str, collections.deque[dict[str, Any]]] = (
            collections.OrderedDict()
        )

    async def observe(self, decision: Decision) -> None:
        if decision.hook is not Hook.SERVER_RESPONSE or not decision.verdicts:
            return
        exchange = decision.exchange
        found = [
            _finding(v, exchange, "result") for v in decision.verdicts if not v.is_allow or v.code != "allow"
        ]
        if not found:
            return
        kept = self._sessions.pop(exchange.session_id, None) or collections.deque(maxlen=FINDINGS_PER_SESSION)
        kept.extend(found)
        self._sessions[exchange.session_id] = kept
        while len(self._sessions) > SESSIONS_REMEMBERED:
            self._sessions.popitem(last=False)

    def for_call(self, exchange: Exchange) -> list[dict[str, Any]]:
        """The findings on this call (the stages before the hold), then those of its session."""
        before = exchange.notes.get(HELD_AFTER_NOTE)
        on_call = [
            _finding(v, exchange, "call")
            for v in (before if isinstance(before, list) else [])
            if isinstance(v, Verdict) and v.action is not Action.HOLD
        ]
        return [*on_call, *self._sessions.get(exchange.session_id, ())]


def _finding(verdict: Verdict, exchange: Exchange, on: str) -> dict[str, Any]:
    return {
        "inspection": verdict.inspection,
        "code": verdict.code,
        "server": exchange.server,
        "target": exchange.target,
        "on": on,
    }
