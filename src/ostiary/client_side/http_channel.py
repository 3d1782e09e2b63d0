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


class HttpChannel:
    """The ClientChannel of one HTTP session."""

    def __init__(self) -> None:
        self.streams: dict[tuple[bool, RequestId], asyncio.Queue[Message]] = {}
        self.standalone: asyncio.Queue[Message] | None = None
        self._backlog: deque[Message] = deque(maxlen=STANDALONE_BACKLOG)

    def open_stream(self, request_id: RequestId) -> asyncio.Queue[Message]:
        queue: asyncio.Queue[Message] = asyncio.Queue()
        self.streams[id_key(request_id)] = queue
        return queue

    def close_stream(self, request_id: RequestId) -> None:
        self.streams.pop(id_key(request_id), None)

    def attach_standalone(self) -> asyncio.Queue[Message] | None:
        """The GET stream; None if one is already attached (one per session)."""
        if self.standalone is not None:
            return None
        self.standalone = asyncio.Queue()
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
