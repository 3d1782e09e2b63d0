"""The bounded queue between a transport's reader tasks and its `receive()`.

Readers await `put`, so a session that stops reading slows the server's streams down instead of
growing memory. Once closed, `get` hands out what is already queued and then raises
TransportClosed with the reason, on every later call too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ostiary import methods
from ostiary.messages import Message, ProtocolError, RequestId, classify, error, loads
from ostiary.transports.base import TransportClosed

log = logging.getLogger(__name__)


class Inbox:
    def __init__(self, bound: int) -> None:
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue(bound)
        self._closed: str | None = None

    @property
    def closed(self) -> str | None:
        """The close reason, or None while open."""
        return self._closed

    async def put(self, message: Message) -> None:
        if self._closed is None:
            await self._queue.put(message)

    async def put_json(self, data: bytes | str, related: RequestId | None, source: str) -> list[Message]:
        """Decode and queue what the server sent; garbage is logged by kind, never by content."""
        queued: list[Message] = []
        try:
            obj = loads(data)
        except ProtocolError:
            log.warning("%s: skipped a message that is not JSON", source)
            return queued
        for item in obj if isinstance(obj, list) else [obj]:
            try:
                message = classify(item)
            except ProtocolError as exc:
                log.warning("%s: skipped a malformed JSON-RPC message (%s)", source, exc.message)
                continue
            message.related = related
            await self.put(message)
            queued.append(message)
        return queued

    async def fail(self, message: Message, reason: str, source: str) -> None:
        """What a transport does with a message the server cannot have received or answered: a
        request gets a synthetic UPSTREAM_UNAVAILABLE error so nobody waits for a reply that cannot
        come; anything else can only be logged."""
        if message.is_request and message.id is not None:
            reply = error(message.id, methods.UPSTREAM_UNAVAILABLE, reason)
            reply.related = message.id
            await self.put(reply)
        else:
            log.warning("%s: a %s was not delivered: %s", source, message.kind.value, reason)

    def close(self, reason: str) -> None:
        if self._closed is not None:
            return
        self._closed = reason
        # When the queue is full, `get` sees the flag once it has drained.
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    async def get(self) -> Message:
        if self._closed is not None and self._queue.empty():
            raise TransportClosed(self._closed)
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)
            raise TransportClosed(self._closed or "closed")
        return item
