"""The few ASGI pieces `ostiary serve` needs: a view of one request and the replies it sends.

Why not a framework: the front has one endpoint and at most two metadata paths, and each call
crossed a framework's middleware stack, router and request/response objects, which cost more CPU
than Ostiary's own work on the request. What it keeps from Starlette, which it replaces here: the
first of repeated headers wins (its value without surrounding whitespace), JSON bodies are compact
UTF-8, text bodies say `charset=utf-8`, an unknown path is a plain-text 404, a method the path does
not take is a 405 with `Allow`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from ostiary import messages

Scope = MutableMapping[str, Any]
Event = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Event]]
Send = Callable[[Event], Awaitable[None]]


class Disconnected(Exception):
    """The client went away while its request body was being read."""


class Request:
    """One HTTP request: method, headers by lower-case name, the query, and the ASGI receive."""

    __slots__ = ("_query_string", "client", "headers", "method", "path", "receive")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.client: tuple[str, int] | None = scope.get("client")
        self.receive = receive
        self._query_string: bytes = scope.get("query_string", b"")
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:  # ASGI servers lower-case the names
            # RFC 9110 §5.5: a field value excludes the whitespace around it, which httptools keeps.
            headers.setdefault(name.decode("latin-1"), value.decode("latin-1").strip(" \t"))
        self.headers = headers

    @property
    def query_params(self) -> dict[str, str]:
        return dict(parse_qsl(self._query_string.decode("latin-1"), keep_blank_values=True))

    async def body(self, limit: int) -> bytes | None:
        """The whole body, or None once it exceeds `limit` bytes (the rest is left unread)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            event = await self.receive()
            if event["type"] == "http.disconnect":
                raise Disconnected
            chunk = event.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not event.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def wait_disconnect(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


@dataclass(slots=True)
class Reply:
    """A whole response."""

    status: int = 200
    body: bytes = b""
    media_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    async def __call__(self, send: Send) -> None:
        raw = [(b"content-length", str(len(self.body)).encode("latin-1"))]
        if self.media_type is not None:
            raw.append((b"content-type", self.media_type.encode("latin-1")))
        raw += _raw(self.headers)
        await send({"type": "http.response.start", "status": self.status, "headers": raw})
        await send({"type": "http.response.body", "body": self.body})


@dataclass(slots=True)
class StreamReply:
    """An event stream; the body ends when the iterator does (the front watches for disconnects)."""

    chunks: AsyncIterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)

    async def __call__(self, send: Send) -> None:
        raw = [(b"content-type", b"text/event-stream; charset=utf-8"), *_raw(self.headers)]
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        async for chunk in self.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, messages.dumps(body), "application/json", headers or {})


def text_reply(text: str, status: int, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, text.encode(), "text/plain; charset=utf-8", headers or {})


Response = Reply | StreamReply
