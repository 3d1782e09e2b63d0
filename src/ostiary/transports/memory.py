"""An in-memory transport pair: two ends of one connection inside one event loop.

What one end sends the other receives, serialised and parsed again on the way as on a pipe, so a
message handed over is never the object the sender still holds. Closing either end ends the
other's `receive` with `TransportClosed`, as a process exit or a dropped stream would. The
gateway's unit tests put an MCP server written in Python (`serve(handler)`) where a process or an
HTTP server would be; nothing here is on the path of `ostiary run` or `ostiary serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ostiary import messages
from ostiary.messages import Message, ProtocolError, RequestId
from ostiary.transports.base import TransportClosed

log = logging.getLogger("ostiary.transport.memory")

_Item = tuple[bytes, RequestId | None] | None  # None: the peer closed
Handler = Callable[["MemoryTransport"], Awaitable[None]]


class MemoryTransport:
    """One end of a pair made by `memory_pair`."""

    def __init__(self, name: str, inbox: asyncio.Queue[_Item]) -> None:
        self.name = name
        self._inbox = inbox
        self._peer: MemoryTransport | None = None
        self.closed = False
        self.sent: list[Message] = []  # what this end sent, in order (tests read it)

    async def start(self) -> None:
        if self.closed:
            raise TransportClosed("closed")

    async def send(self, message: Message) -> None:
        peer = self._peer
        if self.closed or peer is None or peer.closed:
            raise TransportClosed("peer closed")
        self.sent.append(message)
        peer._inbox.put_nowait((messages.dumps(message), message.related))

    async def receive(self) -> Message:
        while True:
            item = await self._inbox.get()
            if item is None:
                self._inbox.put_nowait(None)  # every later receive ends the same way
                raise TransportClosed("peer closed")
            data, related = item
            try:
                message = messages.classify(messages.loads(data))
            except ProtocolError:
                log.info("%s: the peer sent a malformed message; skipped", self.name)
                continue
            message.related = related
            return message

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._inbox.put_nowait(None)
        if self._peer is not None and not self._peer.closed:
            self._peer._inbox.put_nowait(None)


def memory_pair(name: str = "memory") -> tuple[MemoryTransport, MemoryTransport]:
    """Two connected ends: give one to the gateway, the other to the peer it talks to."""
    a = MemoryTransport(f"{name}:a", asyncio.Queue())
    b = MemoryTransport(f"{name}:b", asyncio.Queue())
    a._peer, b._peer = b, a
    return a, b


class ServedTransport(MemoryTransport):
    """The gateway's end of a pair whose other end is served by `handler`, started with it.

    Like a process: `start` runs the handler on the other end, the handler returning or raising is
    the peer going away, and `close` ends the handler.
    """

    def __init__(self, name: str, handler: Handler) -> None:
        mine, theirs = memory_pair(name)
        super().__init__(name, mine._inbox)
        self._peer, theirs._peer = theirs, self
        self.peer = theirs
        self._handler = handler
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await super().start()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"serve:{self.name}")

    async def _run(self) -> None:
        try:
            await self._handler(self.peer)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.info("%s: the handler failed", self.name, exc_info=True)
        finally:
            await self.peer.close()

    async def close(self) -> None:
        await super().close()
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def serve(name: str, handler: Handler) -> ServedTransport:
    """A transport toward an MCP server that runs in this event loop as `handler(its_end)`."""
    return ServedTransport(name, handler)
