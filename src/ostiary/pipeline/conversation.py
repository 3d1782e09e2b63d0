"""The seam through which the gateway itself may speak in a client's conversation.

Human approval asks the host's user in the conversation (`approvers: [self]`): it needs to know
what the client declared it can do, to send it a request of the gateway's own and await the
answer, and to send it progress while a call waits. The session provides this; inspections
never use it (they return verdicts).
"""

from __future__ import annotations

from typing import Any, Protocol

from ostiary.messages import Message, RequestId


class Conversation(Protocol):
    def client_capabilities(self) -> dict[str, Any]:
        """What the client declared (`initialize` or the 2026-07-28 envelope)."""

    async def ask_own(self, request: Message, related: RequestId | None, limit: float) -> Message:
        """Send the client a request of the gateway's own and return its answer (or an error)."""

    async def tell(self, message: Message, related: RequestId | None) -> None:
        """Send the client a notification, with the client request it belongs to."""
