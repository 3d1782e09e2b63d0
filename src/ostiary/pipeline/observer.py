"""Seams the pipeline calls out through: observers of every final decision, and the approver.

The audit log is an Observer; human approval is an Approver. Both are awaited before the message
moves on, so a record that could not be written or a hold that was not decided stops the message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ostiary.messages import Message
from ostiary.pipeline.exchange import Exchange
from ostiary.pipeline.verdict import Verdict, deny

if TYPE_CHECKING:
    from ostiary.pipeline.chain import Decision


class Observer(Protocol):
    async def observe(self, decision: Decision) -> None:
        """Record the decision. Raising stops the message (fail closed)."""


class Approver(Protocol):
    async def decide(self, message: Message, exchange: Exchange, held: Verdict) -> Verdict:
        """Wait for a reviewer, bounded by a deadline; return ALLOW or a DENY."""


class NoApprover:
    """Used when no approval service is configured: a hold is a denial with its own code."""

    async def decide(self, message: Message, exchange: Exchange, held: Verdict) -> Verdict:
        return deny(
            "approval.unavailable",
            "This request needs a reviewer's approval and no approval service is configured.",
            held_by=held.inspection,
            held_code=held.code,
        )
