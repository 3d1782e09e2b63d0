"""Streamable HTTP toward one MCP server, for both protocol eras.

Each message the connection sends becomes its own POST, run in its own task so one slow answer
never holds up the others. Whatever comes back (one JSON body, or an SSE stream carrying
progress, server->client requests and the final response) is queued for `receive()` with
`related` set to the id of the request whose POST carried it. The transport keeps only framing
state: the legacy session id and protocol version it reads from the `initialize` exchange, and
the GET stream for server-initiated messages.

It answers on its own in one case only: a request whose POST cannot produce an answer (network
failure, HTTP error without a JSON-RPC body, a stream that ends early, an expired session) gets
a synthetic `UPSTREAM_UNAVAILABLE` error so that nobody waits for a reply that cannot come.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

import httpx2

from ostiary import messages, methods
from ostiary.messages import Kind, Message, ProtocolError, RequestId, classify, dumps, id_key, loads
from ostiary.transports import headers as h
from ostiary.transports.base import TransportClosed
from ostiary.transports.http11 import Response, UpstreamHttp, body_chunks
from ostiary.transports.inbox import Inbox
from ostiary.transports.param_headers import ParamHeaders
from ostiary.transports.sse import SseParser

log = logging.getLogger(__name__)

ACCEPT_BOTH: Final = "application/json, text/event-stream"
NETWORK_ERRORS = (httpx2.HTTPError, httpx2.StreamError, httpx2.InvalidURL)
_MAX_RETRY_S: Final = 30.0


def url_label(url: str) -> str:
    """The URL as it may appear in logs: no credentials, no query string."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def media_type(response: Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_limited(response: Response, limit: int) -> bytes | None:
    """The body, or None when it exceeds `limit` bytes (the rest is left unread)."""
    body = bytearray()
    async for chunk in body_chunks(response):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


@dataclass(slots=True)
class _Post:
    """A request whose POST is still open, so a cancellation can find it."""

    task: asyncio.Task[None]
    method: str
    modern: bool
    answered: bool = False
    grace: asyncio.TimerHandle | None = field(default=None)


class StreamableHttpTransport:
    """One server endpoint; `headers` may hold secrets and are never logged."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        timeout: float,
        max_message_bytes: int,
        *,
        queue_bound: int = 256,
        reconnect_attempts: int = 5,
    ) -> None:
        self._url = url
        self._label = url_label(url)
        self._headers = dict(headers)
        self._timeout = timeout
        self._max = max_message_bytes
        self._reconnect_attempts = reconnect_attempts
        self._inbox = Inbox(queue_bound)
        self._http: UpstreamHttp | None = None
        self._session_id: str | None = None
        self._version: str | None = None
        self._modern_version: str | None = None
        self._initialize_key: tuple[bool, RequestId] | None = None
        self._posts: dict[tuple[bool, RequestId], _Post] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._get_task: asyncio.Task[None] | None = None
        self._server_stream_open = False
        self._param_headers = ParamHeaders()

    @property
    def session_id(self) -> str | None:
        return self._session_id

    @property
    def server_stream_open(self) -> bool:
        """Whether the GET stream for server-initiated messages is connected right now."""
        return self._server_stream_open

    @property
    def protocol_version(self) -> str | None:
        """The legacy revision the server chose at `initialize`, once known."""
        return self._version

    async def start(self) -> None:
        """Prepare the HTTP client. Reachability shows on the first POST, as an error for it."""
        if self._http is None:
            self._http = UpstreamHttp(self._url, self._timeout)

    async def receive(self) -> Message:
        return await self._inbox.get()

    async def send(self, message: Message) -> None:
        if self._inbox.closed is not None:
            raise TransportClosed(self._inbox.closed)
        if self._http is None:
            raise TransportClosed("not started")
        if message.method == methods.CANCELLED and self._cancel_locally(message):
            return
        version = h.modern_version(message)
        headers = {"Accept": ACCEPT_BOTH, "Content-Type": "application/json", **self._headers}
        if version is not None:
            self._modern_version = version
            headers.update(h.modern_headers(message, version))
            if message.method == methods.TOOLS_CALL:
                headers.update(self._param_headers.for_call(message.params))
        else:
            headers.update(self._session_headers())
        if message.method == methods.INITIALIZE and message.id is not None:
            self._initialize_key = id_key(message.id)
        task = asyncio.create_task(self._post(message, headers))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if message.is_request and message.id is not None:
            self._posts[id_key(message.id)] = _Post(task, message.method, modern=version is not None)

    async def close(self) -> None:
        self._inbox.close("closed")
        tasks = list(self._tasks)
        if self._get_task is not None:
            tasks.append(self._get_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for post in self._posts.values():
            if post.grace is not None:
                post.grace.cancel()
        self._posts.clear()
        http, self._http = self._http, None
        if http is None:
            return
        if self._session_id is not None:
            with contextlib.suppress(*NETWORK_ERRORS):
                await http.client.delete(
                    self._url,
                    headers={**self._headers, **self._session_headers()},
                    timeout=min(self._timeout, 2.0),
                )
        await http.aclose()

    def _session_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self._session_id is not None:
            headers[h.SESSION_ID] = self._session_id
        if self._version is not None:
            headers[h.PROTOCOL_VERSION] = self._version
        return headers

    def _cancel_locally(self, message: Message) -> bool:
        """Modern cancellation closes the request's stream; legacy POSTs it but bounds the wait."""
        target = message.params.get("requestId")
        if not isinstance(target, (str, int)) or isinstance(target, bool):
            return False
        post = self._posts.get(id_key(target))
        if post is None:
            # Nothing open to close; a stateless server has no use for the notification.
            return self._session_id is None and self._version is None and self._modern_version is not None
        if post.modern:
            post.task.cancel()
            return True
        if post.grace is None:
            post.grace = asyncio.get_running_loop().call_later(self._timeout, post.task.cancel)
        return False

    async def _post(self, message: Message, headers: dict[str, str]) -> None:
        assert self._http is not None
        key = id_key(message.id) if message.is_request and message.id is not None else None
        with_session = h.SESSION_ID in headers
        try:
            async with self._http.stream("POST", headers, dumps(message)) as resp:
                await self._on_post_response(resp, message, with_session)
        except NETWORK_ERRORS as exc:
            await self._fail(message, f"upstream unreachable ({type(exc).__name__})")
        finally:
            if key is not None:
                post = self._posts.pop(key, None)
                if post is not None and post.grace is not None:
                    post.grace.cancel()

    async def _on_post_response(self, resp: Response, message: Message, with_session: bool) -> None:
        status = resp.status_code
        if message.method == methods.INITIALIZE and 200 <= status < 300:
            session = resp.headers.get(h.SESSION_ID)
            if session is not None and session.isascii() and session.isprintable():
                self._session_id = session
        if status == 404 and with_session:
            await self._expire(message)
            return
        if not 200 <= status < 300:
            await self._on_error_status(resp, message)
            return
        if not message.is_request:
            if message.method == methods.INITIALIZED and self._session_id is not None:
                self._open_get_stream()
            return
        if status in (202, 204):
            return
        related = message.id
        kind = media_type(resp)
        if kind == "application/json":
            body = await read_limited(resp, self._max)
            if body is None:
                await self._fail(message, "upstream response over the size limit")
                return
            self._note(await self._inbox.put_json(body, related, self._label), message)
        elif kind == "text/event-stream":
            parser = SseParser(self._max)
            await self._read_events(resp, parser, message)
            if (
                not self._answered(message)
                and parser.last_event_id is not None
                and self._session_id is not None
            ):
                await self._follow(message, parser.last_event_id, parser.retry_ms)
        else:
            await self._fail(message, f"upstream HTTP {status} with an unexpected content type")
            return
        if not self._answered(message):
            await self._fail(message, "upstream stream ended before the response")

    async def _on_error_status(self, resp: Response, message: Message) -> None:
        status = resp.status_code
        if not message.is_request:
            log.warning("%s: upstream answered HTTP %d to a %s", self._label, status, message.kind.value)
            return
        if media_type(resp) == "application/json":
            body = await read_limited(resp, self._max)
            if body is not None:
                delivered = await self._error_body(body, message)
                if delivered:
                    return
        await self._fail(message, f"upstream HTTP {status}")

    async def _error_body(self, body: bytes, message: Message) -> bool:
        """Deliver a JSON-RPC error body for this request; an error without id is attributed to it."""
        try:
            reply = classify(loads(body))
        except ProtocolError:
            return False
        if reply.kind is not Kind.ERROR:
            return False
        if reply.id is None:
            reply = reply.with_id(message.id)
        reply.related = message.id
        await self._inbox.put(reply)
        return True

    async def _read_events(self, resp: Response, parser: SseParser, message: Message | None) -> bool:
        """Queue every message event of one SSE response; True if any event arrived."""
        related = message.id if message is not None else None
        got_any = False
        async for chunk in body_chunks(resp):
            for event in parser.feed(chunk):
                got_any = True
                if event.event != "message" or not event.data.strip():
                    continue  # priming events carry only an id
                delivered = await self._inbox.put_json(event.data, related, self._label)
                if message is not None:
                    self._note(delivered, message)
        return got_any

    def _note(self, delivered: list[Message], message: Message) -> None:
        """Remember the legacy revision and whether the request got its response."""
        if message.id is None:
            return
        key = id_key(message.id)
        for reply in delivered:
            if not reply.is_response or reply.id is None or id_key(reply.id) != key:
                continue
            post = self._posts.get(key)
            if post is not None:
                post.answered = True
                if post.method == methods.TOOLS_LIST and reply.kind is Kind.RESULT:
                    self._param_headers.learn(reply.result)
            if key == self._initialize_key and reply.kind is Kind.RESULT:
                version = reply.result.get("protocolVersion")
                if isinstance(version, str) and version.isascii() and version.isprintable():
                    self._version = version

    def _answered(self, message: Message) -> bool:
        post = self._posts.get(id_key(message.id)) if message.id is not None else None
        return post is None or post.answered

    async def _fail(self, message: Message, reason: str) -> None:
        await self._inbox.fail(message, reason, self._label)
        post = self._posts.get(id_key(message.id)) if message.is_request and message.id is not None else None
        if post is not None:
            post.answered = True

    async def _expire(self, current: Message | None, reason: str = "upstream session expired") -> None:
        """The session is gone: fail everything in flight, then close for a new handshake."""
        if self._inbox.closed is not None:
            return
        if current is not None:
            await self._fail(current, reason)
        me = asyncio.current_task()
        for key, post in list(self._posts.items()):
            if post.task is me or post.answered:
                continue
            post.task.cancel()
            await self._fail(messages.request(key[1], post.method), reason)
        self._inbox.close(reason)

    def _open_get_stream(self) -> None:
        if self._get_task is None or self._get_task.done():
            self._get_task = asyncio.create_task(self._follow(None, None, None))

    async def _follow(self, message: Message | None, last_event_id: str | None, retry_ms: int | None) -> None:
        """A GET stream: server-initiated messages, or the resumption of a request's stream.

        Reconnects with `Last-Event-ID` after `retry` (or a growing backoff) until the request is
        answered, the server says there is no stream (405), or the attempts run out. A session
        whose server-initiated stream was up once and cannot be re-opened is treated as lost (the
        server restarted, most likely), so the transport closes and its connection re-handshakes.
        """
        assert self._http is not None
        http = self._http
        failures = 0
        established = False
        first = message is None
        while failures < self._reconnect_attempts and self._inbox.closed is None:
            if not first:
                delay = retry_ms / 1000 if retry_ms is not None else 0.1 * 2**failures
                await asyncio.sleep(min(delay, _MAX_RETRY_S))
            first = False
            headers = {"Accept": "text/event-stream", **self._headers, **self._session_headers()}
            if last_event_id is not None:
                headers[h.LAST_EVENT_ID] = last_event_id
            parser = SseParser(self._max)
            opened = asyncio.get_running_loop().time()
            healthy = False
            try:
                async with http.stream("GET", headers) as resp:
                    if resp.status_code == 405:
                        return
                    if resp.status_code == 404 and self._session_id is not None:
                        await self._expire(message)
                        return
                    if resp.status_code == 200 and media_type(resp) == "text/event-stream":
                        established = True
                        self._server_stream_open = message is None
                        try:
                            got_any = await self._read_events(resp, parser, message)
                        finally:
                            self._server_stream_open = False
                        # A server may close an idle stream; only a stream that ends at once, empty,
                        # counts against the attempts.
                        healthy = got_any or asyncio.get_running_loop().time() - opened >= 1.0
            except NETWORK_ERRORS:
                pass
            failures = 0 if healthy else failures + 1
            last_event_id = parser.last_event_id or last_event_id
            retry_ms = parser.retry_ms if parser.retry_ms is not None else retry_ms
            if message is not None and self._answered(message):
                return
        if message is None and established and self._inbox.closed is None:
            log.warning("%s: the server-initiated message stream is lost; closing the session", self._label)
            await self._expire(None, "upstream event stream lost")
