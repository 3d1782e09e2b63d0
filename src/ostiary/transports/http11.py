"""A lean HTTP/1.1 transport for httpx2: plain-HTTP requests on pooled keep-alive connections.

Why: on loopback and LAN servers the generic stack (httpcore2, h11, anyio) cost more CPU per
tools/call than the rest of the gateway, and it sends a request's headers and body in two writes,
so each call took two segments, two wake-ups of the server and an extra read there. This transport
writes a request in one `write`, parses responses with httptools (llhttp, as uvicorn does) in an
asyncio protocol, and keeps idle connections for reuse.

What it is not: a general client. `UpstreamHttp` installs it only for an `http://` server that no
proxy in the environment applies to; `https://` and proxied servers keep httpx2's own transport (TLS
and trust store, proxies) unchanged. Requests other than the server connection's own (a session's
DELETE) still go through httpx2's client on top of this transport and get an `httpx2.Response`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import time
import urllib.request
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import Final, TypeVar, cast, overload

import httptools
import httpx2

MAX_CONNECTIONS: Final = 100  # httpx2's default pool size
KEEPALIVE_EXPIRY_S: Final = 5.0  # as httpx2: an idle connection older than this is not reused
READ_BUFFER: Final = 256 * 1024  # unread body bytes past which the socket stops being read
T = TypeVar("T")


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every upstream client of the process.

    httpx2 builds a context per client by default, loading the CA bundle each time: about a
    megabyte per session in `ostiary serve`, for the same trust store every time.
    """
    return httpx2.create_ssl_context()


class UpstreamHttp:
    """httpx2's client for one server and, when this transport serves it, a shorter way to it.

    `stream` skips the client's layers (URL and header merging, auth and redirect loops, logging)
    and httpx2's request and response objects, which together cost more per call than the
    transport itself. It keeps what the gateway relied on from the client: its default headers,
    timeouts and cookie jar (while the jar holds cookies, requests take the client's way).
    """

    def __init__(self, url: str, timeout: float) -> None:
        self.url = httpx2.URL(url)
        settings = httpx2.Timeout(timeout, read=None)
        self.transport: Http11Transport | None = None
        if self.url.scheme == "http" and not _proxied(self.url.host):
            self.transport = Http11Transport()
        # With its own transport the client makes no TLS connection: it needs no context.
        verify: ssl.SSLContext | bool = tls_context() if self.transport is None else True
        self.client = httpx2.AsyncClient(
            timeout=settings, follow_redirects=False, transport=self.transport, verify=verify
        )
        self._timeouts: dict[str, float | None] = settings.as_dict()
        self._key = (self.url.host, self.url.port or 80)
        self._defaults = {name.lower(): (name, value) for name, value in self.client.headers.raw}
        self._defaults[b"host"] = (b"Host", self.url.netloc)

    @contextlib.asynccontextmanager
    async def stream(
        self, method: str, headers: dict[str, str], content: bytes | None = None
    ) -> AsyncIterator[Response]:
        """The response to one request to the server's URL, open until the block ends."""
        if self.transport is None or self.client.cookies:
            async with self.client.stream(method, self.url, content=content, headers=headers) as response:
                yield response
            return
        conn = await self.transport.open(self._key, self._request(method, headers, content), self._timeouts)
        try:
            plain = PlainResponse(conn, self.transport)
            if "set-cookie" in plain.headers:
                jar = httpx2.Response(
                    conn.status, headers=conn.headers, request=httpx2.Request(method, self.url)
                )
                self.client.cookies.extract_cookies(jar)
            yield plain
        finally:
            self.transport.release(conn)

    def _request(self, method: str, headers: dict[str, str], content: bytes | None) -> bytes:
        fields = dict(self._defaults)
        try:
            for name, value in headers.items():
                raw = name.encode("ascii")
                fields[raw.lower()] = (raw, value.encode("ascii"))
        except UnicodeEncodeError:
            # httpx2 raised the same, but not as an HTTPError: the request then waited for its timeout.
            raise httpx2.LocalProtocolError("a header name or value is not ASCII") from None
        if content is not None:
            fields[b"content-length"] = (b"Content-Length", str(len(content)).encode("ascii"))
        head = request_head(method, self.url.raw_path, fields.values())
        return head + content if content else head

    async def aclose(self) -> None:
        await self.client.aclose()


class Fields(dict[str, str]):
    """Header fields by lower-case name, looked up case-insensitively as httpx2's headers are."""

    @overload  # type: ignore[override]
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    def get(self, name: str, default: str | None = None) -> str | None:
        return super().get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())


class PlainResponse:
    """A response read by this transport: status, headers by lower-case name, the connection."""

    __slots__ = ("connection", "headers", "status_code", "transport")

    def __init__(self, connection: _Connection, transport: Http11Transport) -> None:
        self.connection = connection
        self.transport = transport
        self.status_code = connection.status
        headers = Fields()
        for name, value in connection.headers:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            joined = dict.get(headers, key)
            headers[key] = text if joined is None else f"{joined}, {text}"  # as httpx2 joins them
        self.headers = headers


Response = httpx2.Response | PlainResponse


def body_chunks(response: Response) -> AsyncIterator[bytes]:
    """A response's body as it arrives: from this transport directly when nothing needs decoding
    (httpx2's decoding and re-chunking layers are work a plain body does not need)."""
    if isinstance(response, PlainResponse):
        if "content-encoding" not in response.headers:
            return response.connection.body(None)
        conn = response.connection
        body = _Body(response.transport, conn, None)
        return httpx2.Response(conn.status, headers=conn.headers, stream=body).aiter_bytes()
    if isinstance(response.stream, _Body) and "content-encoding" not in response.headers:
        return response.stream.__aiter__()
    return response.aiter_bytes()


def _proxied(host: str) -> bool:
    """Whether httpx2 would send plain-HTTP requests for `host` through a proxy from the environment."""
    proxies = urllib.request.getproxies()
    if not (proxies.get("http") or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(host)


async def _within(awaitable: Awaitable[T], seconds: float | None) -> T:
    """`awaitable` under a time limit; without one when there is none, which is the common case
    (responses have no read timeout) and saves a timer per wait."""
    if seconds is None:
        return await awaitable
    async with asyncio.timeout(seconds):
        return await awaitable


def request_head(method: str, target: bytes, headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The request line and header block; a CR, LF or NUL in a header is refused, as h11 did."""
    lines = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        lines += (name, b": ", value, b"\r\n")
    lines.append(b"\r\n")
    head = b"".join(lines)
    breaks = (len(lines) - 4) // 4 + 2  # one CRLF per line we wrote, none from the values
    if b"\0" in head or head.count(b"\r") != breaks or head.count(b"\n") != breaks:
        raise httpx2.LocalProtocolError("a header name or value holds a line break or NUL")
    return head


def _timeouts(request: httpx2.Request) -> dict[str, float | None]:
    timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
    return timeouts


class _Connection(asyncio.Protocol):
    """One TCP connection, one response at a time; httptools calls the `on_*` methods."""

    def __init__(self, key: tuple[str, int]) -> None:
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.leased = False
        self.idle_since = 0.0
        # Set while the socket's send buffer is over its high-water mark (a large request).
        self.drained: asyncio.Future[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.head: asyncio.Future[None] | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.complete = False
        self.reusable = False
        self.error: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._body_delimited = False
        self._informational = False
        self._reading_paused = False

    # -- asyncio.Protocol

    def pause_writing(self) -> None:
        self.drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)
        self.drained = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is not a subclass of asyncio.Transport, so no isinstance).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx2.RemoteProtocolError(f"malformed HTTP response ({exc})"))
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.resume_writing()  # nothing more will be sent: a wait for the buffer to drain is over
        if self.head is not None and self.head.done() and not self._body_delimited:
            self.complete = True  # a body without Content-Length or chunking ends with the connection
            self._wake()
        elif not self.complete:
            self._fail(httpx2.RemoteProtocolError("server disconnected before the response ended"))

    # -- httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:  # informational: the real response follows
            self._informational = True
            self.headers = []
            return
        self.status = status
        self._body_delimited = any(
            name.lower() in (b"content-length", b"transfer-encoding") for name, _ in self.headers
        ) or status in (204, 304)
        if self.head is not None and not self.head.done():
            self.head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > READ_BUFFER and self.transport is not None and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self.complete = True
        self.reusable = self.parser.should_keep_alive()
        self._wake()

    # -- used by the transport and the response stream

    def _fail(self, error: Exception) -> None:
        if self.error is None:
            self.error = error
        if self.head is not None and not self.head.done():
            self.head.set_exception(error)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def start(self, data: bytes) -> asyncio.Future[None]:
        """Send one whole request; the future resolves when the response's head has arrived."""
        assert self.transport is not None
        self._reset()
        self.head = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.head

    async def body(self, read_timeout: float | None) -> AsyncIterator[bytes]:
        while True:
            while self.chunks:
                chunk = self.chunks.popleft()
                self.buffered -= len(chunk)
                if self._reading_paused and self.buffered <= READ_BUFFER // 2 and self.transport is not None:
                    self._reading_paused = False
                    self.transport.resume_reading()
                yield chunk
            if self.complete:
                return
            if self.error is not None:
                raise httpx2.ReadError(str(self.error))
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await _within(self._waiter, read_timeout)
            except TimeoutError:
                raise httpx2.ReadTimeout("timed out reading the response") from None
            finally:
                self._waiter = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Body(httpx2.AsyncByteStream):
    """A response body; closing it hands a finished connection back to the pool."""

    def __init__(self, pool: Http11Transport, conn: _Connection, read_timeout: float | None) -> None:
        self._pool = pool
        self._conn = conn
        self._read_timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._conn.body(self._read_timeout):
            yield chunk

    async def aclose(self) -> None:
        self._pool.release(self._conn)


class Http11Transport(httpx2.AsyncBaseTransport):
    """Plain HTTP/1.1 with keep-alive, at most MAX_CONNECTIONS at once, as httpx2's pool."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._open: set[_Connection] = set()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.scheme != "http":
            raise httpx2.UnsupportedProtocol("this transport speaks plain HTTP only", request=request)
        timeouts = _timeouts(request)
        head = request_head(request.method, request.url.raw_path, request.headers.raw)
        key = (request.url.host, request.url.port or 80)
        conn = await self.open(key, head + await request.aread(), timeouts, request)
        return httpx2.Response(
            conn.status,
            headers=conn.headers,
            stream=_Body(self, conn, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def open(
        self,
        key: tuple[str, int],
        data: bytes,
        timeouts: dict[str, float | None],
        request: httpx2.Request | None = None,
    ) -> _Connection:
        """Send one whole request on a pooled connection; return it once the response's head is in.

        The connection is the caller's until `release`.
        """
        try:
            await _within(self._slots.acquire(), timeouts.get("pool"))
        except TimeoutError:
            raise httpx2.PoolTimeout("no connection available", request=request) from None
        conn: _Connection | None = None
        try:
            conn = await self._connection(key, timeouts.get("connect"), request)
            conn.leased = True
            head = conn.start(data)
            if conn.drained is not None:  # as httpx2: a server that does not read times out the write
                try:
                    await _within(asyncio.shield(conn.drained), timeouts.get("write"))
                except TimeoutError:
                    raise httpx2.WriteTimeout("timed out sending the request", request=request) from None
            try:
                await _within(head, timeouts.get("read"))
            except TimeoutError:
                raise httpx2.ReadTimeout("timed out waiting for the response", request=request) from None
        except BaseException:
            # Cancelled or failed mid-request: the connection's state is unknown, so it is closed
            # (which is also how a server learns that a request was abandoned).
            if conn is None:
                self._slots.release()
            else:
                self.release(conn)
            raise
        return conn

    async def _connection(
        self, key: tuple[str, int], connect_timeout: float | None, request: httpx2.Request | None
    ) -> _Connection:
        idle = self._idle.get(key, [])
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < KEEPALIVE_EXPIRY_S:
                return conn
            self._discard(conn)
        conn = _Connection(key)
        try:
            connecting = asyncio.get_running_loop().create_connection(lambda: conn, *key)
            await _within(connecting, connect_timeout)
        except TimeoutError:
            raise httpx2.ConnectTimeout("timed out connecting", request=request) from None
        except OSError as exc:
            raise httpx2.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        self._open.add(conn)
        return conn

    def release(self, conn: _Connection) -> None:
        """A response is closed: keep its connection if it ended cleanly, else close it."""
        if not conn.leased:
            return
        conn.leased = False
        self._slots.release()
        if conn.complete and conn.reusable and not conn.closed:
            conn.idle_since = time.monotonic()
            self._idle.setdefault(conn.key, []).append(conn)
        else:
            self._discard(conn)

    def _discard(self, conn: _Connection) -> None:
        conn.close()
        self._open.discard(conn)

    async def aclose(self) -> None:
        for conn in list(self._open):
            self._discard(conn)
        self._idle.clear()
