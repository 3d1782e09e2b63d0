"""The one seam every transport fills: send a message, receive the next one, close.

A transport toward an MCP server is started by its connection and may learn what it needs for
framing (session ids, protocol version headers) by reading the messages that pass through it,
but it never answers, drops or reorders them.
"""

from __future__ import annotations

from typing import Protocol

from ostiary.messages import Message


class TransportClosed(Exception):
    """The peer is gone (process exited, stream ended). `reason` is safe to log, never a payload."""

    def __init__(self, reason: str = "closed") -> None:
        super().__init__(reason)
        self.reason = reason


class Transport(Protocol):
    async def start(self) -> None:
        """Connect or spawn. Raises TransportClosed if the peer cannot be reached."""

    async def send(self, message: Message) -> None:
        """Deliver one message. Raises TransportClosed if the peer is gone."""

    async def receive(self) -> Message:
        """The next message from the peer, in order. Raises TransportClosed at the end.

        Garbage from the peer (non-JSON, wrong shapes) is logged and skipped here; it never
        reaches the session.
        """

    async def close(self) -> None:
        """Release everything; for a process: close stdin, then SIGTERM, then SIGKILL."""
