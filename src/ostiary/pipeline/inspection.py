"""The extension point: a pipeline stage that overrides only the hooks it needs.

An inspection judges; it never forwards, drops or answers a message itself. It returns a Verdict
and the pipeline acts on it. A hook that raises or overruns its time limit is a denial
(`inspection.error`, `inspection.timeout`): Ostiary fails closed.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from ostiary.messages import Message
from ostiary.pipeline.exchange import Exchange, Hook
from ostiary.pipeline.verdict import ALLOW, Verdict


class Mode(enum.Enum):
    ENFORCE = "enforce"
    # Record what the stage would have done; let the message through unchanged.
    MONITOR = "monitor"


class Inspection:
    """Base class for inspections. Subclasses set `name` and override hooks.

    `methods` limits the hooks to those JSON-RPC methods (for responses: the method of the
    request answered); None means every method. Hooks that are not overridden cost nothing.
    """

    name: ClassVar[str] = ""
    methods: ClassVar[frozenset[str] | None] = None

    async def on_client_request(self, message: Message, exchange: Exchange) -> Verdict:
        return ALLOW

    async def on_client_notification(self, message: Message, exchange: Exchange) -> Verdict:
        return ALLOW

    async def on_client_response(self, message: Message, exchange: Exchange) -> Verdict:
        return ALLOW

    async def on_server_request(self, message: Message, exchange: Exchange) -> Verdict:
        return ALLOW

    async def on_server_notification(self, message: Message, exchange: Exchange) -> Verdict:
        return ALLOW

    async def on_server_response(self, message: Message, exchange: Exchange) -> Verdict:
        return ALLOW

    async def start(self) -> None:
        """Acquire resources (compile rules, open files) before the first message."""

    async def close(self) -> None:
        """Release what `start` acquired."""

    def implements(self, hook: Hook) -> bool:
        return getattr(type(self), hook.value) is not getattr(Inspection, hook.value)
