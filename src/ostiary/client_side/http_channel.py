"""Where a session's outgoing messages go on HTTP: the stream of the request they belong to, or the
session's standalone GET stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from ostiary.messages import Message, RequestId, id_key

log = logging.getLogger("ostiary.front.http")

STANDALONE_BACKLOG = 1000


class Outbox:
    """The messages waiting for one HTTP response stream.

    Why not an asyncio.Queue: a response waits for its next message *or* its client's hang-up
    *or* a keep-alive deadline, and doing that with a queue took a task, `asyncio.wait` and their
    callbacks per message; here each wait is one future that any of the three resolves.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Message] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, message: Message) -> None:
        self._items.append(message)
        self.wake()

    def wake(self, *_: object) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def next(self, disconnected: asyncio.Future[None], keepalive: float | None) -> Message | bool:
        """The next message; False once the client is gone; True when `keepalive` seconds passed first.

        `disconnected` must call `wake` when it completes (`add_done_callback`).
        """
        if not self._items and not disconnected.done():
            loop = asyncio.get_running_loop()
            self._waiter = loop.create_future()
            timer = loop.call_later(keepalive, self.wake) if keepalive is not None else None
            try:
                await self._waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
        if self._items:
            return self._items.popleft()
        return not disconnected.done()


class HttpChannel:
    """The ClientChannel of one HTTP session."""

    def __init__(self) -> None:
        self.streams: dict[tuple[bool, RequestId], Outbox] = {}
        self.standalone: Outbox | None = None
        self._backlog: deque[Message] = deque(maxlen=STANDALONE_BACKLOG)

    def open_stream(self, request_id: RequestId) -> Outbox:
        outbox = Outbox()
        self.streams[id_key(request_id)] = outbox
        return outbox

    def close_stream(self, request_id: RequestId) -> None:
        self.streams.pop(id_key(request_id), None)

    def attach_standalone(self) -> Outbox | None:
        """The GET stream; None if one is already attached (one per session)."""
        if self.standalone is not None:
            return None
        self.standalone = Outbox()
        while self._backlog:
            self.standalone.put_nowait(self._backlog.popleft())
        return self.standalone

    def detach_standalone(self) -> None:
        self.standalone = None

    async def send(self, message: Message, related: RequestId | None) -> None:
        if related is not None:
            queue = self.streams.get(id_key(related))
            if queue is not None:
                queue.put_nowait(message)
                return
        if self.standalone is not None:
            self.standalone.put_nowait(message)
            return
        if message.is_response:
            log.info("a response for a request whose stream is gone; dropped")
            return
        if len(self._backlog) == self._backlog.maxlen:
            log.warning("standalone backlog full; the oldest message was dropped")
        self._backlog.append(message)
