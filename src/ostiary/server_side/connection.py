"""One connection to one MCP server: its own id space, its handshake, its timeouts, its restarts.

The session hands requests over with an opaque `context` (its record of the client call); the
connection hands it back with every message the server sends about that request (progress,
server->client requests), so the session can route them to the right client request without
knowing the server-side ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from ostiary import messages, methods
from ostiary.config import ServerConfig
from ostiary.messages import JSON, Kind, Message
from ostiary.server_side.hello import ClientHello, Era, ServerHello
from ostiary.transports.base import Transport, TransportClosed

log = logging.getLogger("ostiary.server")

PROBE_TIMEOUT = 10.0
ENVELOPE_KEYS = (
    methods.META_PROTOCOL_VERSION,
    methods.META_CLIENT_CAPABILITIES,
    methods.META_CLIENT_INFO,
    methods.META_LOG_LEVEL,
)
BACKOFF_START = 0.5
BACKOFF_MAX = 30.0


def _error_text(response: Message, url: str | None) -> str:
    """An error's code and message (the transport's cause, e.g. a refused connection), and for a
    remote server its URL as configured, without credentials or query."""
    text = response.error.get("message")
    detail = f": {str(text)[:300]}" if isinstance(text, str) and text else ""
    where = ""
    if url is not None:
        parts = urlsplit(url)
        with contextlib.suppress(ValueError):  # a port that is not a number: leave it out
            where = f":{parts.port}" if parts.port else ""
        where = f" from {parts.scheme}://{parts.hostname or ''}{where}{parts.path}"
    return f"error {response.error.get('code')}{where}{detail}"


class ServerUnavailable(Exception):
    """The server cannot take the request (down, restarting, or it failed its handshake)."""


class ServerTimeout(Exception):
    """The server did not answer in time; the request was cancelled upstream."""


class EventHandler(Protocol):
    async def on_server_request(self, conn: ServerConnection, message: Message, context: object) -> Message:
        """Answer a server->client request; return the response under the server's id."""

    async def on_server_notification(self, conn: ServerConnection, message: Message, context: object) -> None:
        """Deliver a notification (progress arrives with its original token restored)."""


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[Message]
    context: object
    method: str
    progress_token: str | int | None = None
    hard_deadline: float = 0.0
    timer: asyncio.TimerHandle | None = None

    def expire_at(self, when: float) -> None:
        """(Re)arm the timer that fails the wait with TimeoutError: a bare timer on the future,
        lighter on every call than `asyncio.timeout`'s context manager."""
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_at(when, _expire, self.future)


def _expire(future: asyncio.Future[Message]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


@dataclass(slots=True)
class _Stats:
    restarts: int = 0
    last_error: str | None = None
    started_at: float = field(default_factory=time.time)


class ServerConnection:
    def __init__(
        self,
        name: str,
        config: ServerConfig,
        transport_factory: Callable[[], Awaitable[Transport]],
        handler: EventHandler,
    ) -> None:
        self.name = name
        self.config = config
        self._factory = transport_factory
        self._handler = handler
        self.transport: Transport | None = None
        self.hello: ServerHello | None = None
        self.handshake_result: Message | None = None
        self._client_hello: ClientHello | None = None
        self._pending: dict[int, _Pending] = {}
        self._progress: dict[str | int, int] = {}
        self._next_id = 1
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = asyncio.Lock()
        self._backoff = BACKOFF_START
        self._retry_at = 0.0
        self._down_counted = False
        self.state = "new"  # new -> (spawned ->) up -> down -> up ... -> closed
        self.stats = _Stats()

    # ------------------------------------------------------------------ lifecycle

    async def open(self, hello: ClientHello) -> ServerHello:
        """Start the transport and do the handshake for this client. Raises ServerUnavailable."""
        async with self._lock:
            if self.state == "up" and self.hello is not None:
                return self.hello  # shared with another session, which opened it
            self._client_hello = hello
            return await self._connect()

    async def spawn(self) -> None:
        """Start the transport ahead of the handshake, so a server's start-up overlaps the host's.

        A failure here is not final: `open` tries again and reports it.
        """
        async with self._lock:
            if self.state == "new" and self.transport is None:
                with contextlib.suppress(ServerUnavailable):
                    await self._start_transport()
                    self.state = "spawned"

    async def _start_transport(self) -> None:
        await self._stop_transport()
        self._down_counted = False
        transport = await self._factory()
        self.transport = transport
        try:
            await transport.start()
        except TransportClosed as exc:
            self._went_down(exc.reason)
            raise ServerUnavailable(exc.reason) from None
        self._reader = asyncio.create_task(self._read_loop(transport), name=f"read:{self.name}")

    async def _connect(self) -> ServerHello:
        assert self._client_hello is not None
        if self.state != "spawned" or self.transport is None:
            await self._start_transport()
        try:
            hello = await self._handshake(self._client_hello)
        except ServerUnavailable as exc:
            self._went_down(str(exc))
            await self._stop_transport()
            raise
        self.hello = hello
        self.state = "up"
        self._backoff = BACKOFF_START
        log.info("server %s: connected, %s era, protocol %s", self.name, hello.era, hello.protocol_version)
        return hello

    async def _ensure_up(self) -> None:
        if self.state == "up":
            return
        if self.state == "closed" or self._client_hello is None:
            raise ServerUnavailable("the connection is closed")
        async with self._lock:
            if self.state == "up":
                return
            now = time.monotonic()
            if now < self._retry_at:
                raise ServerUnavailable(f"restarting; next attempt in {self._retry_at - now:.1f}s")
            self.stats.restarts += 1
            log.info("server %s: restarting (attempt %d)", self.name, self.stats.restarts)
            await self._connect()

    def _went_down(self, reason: str) -> None:
        if self.state == "closed":
            return
        self.stats.last_error = reason
        if self._down_counted:
            # A failed attempt is reported twice (the reader sees the end, the handshake fails):
            # it counts once, so the backoff doubles once per attempt.
            return
        self._down_counted = True
        self.state = "down"
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, BACKOFF_MAX)

    async def close(self) -> None:
        self.state = "closed"
        await self._stop_transport()
        for task in list(self._tasks):
            task.cancel()

    async def _stop_transport(self) -> None:
        transport, reader = self.transport, self._reader
        self.transport, self._reader = None, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        if transport is not None:
            with contextlib.suppress(Exception):
                await transport.close()
        self._fail_all("connection closed")

    # ------------------------------------------------------------------ handshake

    async def _handshake(self, hello: ClientHello) -> ServerHello:
        order: list[Era]
        if self.config.era == "legacy":
            order = ["legacy"]
        elif self.config.era == "modern":
            order = ["modern"]
        else:
            order = ["modern", "legacy"] if hello.era == "modern" else ["legacy", "modern"]
        last = "no handshake attempted"
        for era in order:
            try:
                return await (
                    self._modern_handshake(hello) if era == "modern" else self._legacy_handshake(hello)
                )
            except (ServerTimeout, _HandshakeRefused) as exc:
                last = f"{era} handshake failed: {exc}"
                log.info("server %s: %s", self.name, last)
        raise ServerUnavailable(last)

    async def _legacy_handshake(self, hello: ClientHello) -> ServerHello:
        params = {
            "protocolVersion": hello.legacy_version(),
            "capabilities": hello.capabilities,
            "clientInfo": hello.client_info or {"name": "ostiary", "version": "0"},
        }
        response = await self._call(methods.INITIALIZE, params, None, PROBE_TIMEOUT * 3, handshake=True)
        if response.kind is not Kind.RESULT:
            raise _HandshakeRefused(f"initialize answered {_error_text(response, self.config.url)}")
        result = response.result
        version = result.get("protocolVersion")
        if version not in methods.HANDSHAKE_VERSIONS:
            raise _HandshakeRefused(f"server chose an unknown protocol version {version!r}")
        assert self.transport is not None
        await self.transport.send(messages.notification(methods.INITIALIZED))
        self.handshake_result = response
        return ServerHello(
            era="legacy",
            protocol_version=str(version),
            capabilities=_dict(result.get("capabilities")),
            server_info=_dict(result.get("serverInfo")),
            instructions=result.get("instructions") if isinstance(result.get("instructions"), str) else None,
            supported_versions=[str(version)],
        )

    async def _modern_handshake(self, hello: ClientHello) -> ServerHello:
        params = {"_meta": hello.modern_meta()}
        response = await self._call(methods.DISCOVER, params, None, PROBE_TIMEOUT, handshake=True)
        if response.kind is not Kind.RESULT:
            raise _HandshakeRefused(f"server/discover answered {_error_text(response, self.config.url)}")
        result = response.result
        versions = [v for v in result.get("supportedVersions") or [] if isinstance(v, str)]
        if methods.LATEST_MODERN not in versions:
            raise _HandshakeRefused("server/discover does not list a version Ostiary speaks")
        meta = _dict(result.get("_meta"))
        self.handshake_result = response
        return ServerHello(
            era="modern",
            protocol_version=methods.LATEST_MODERN,
            capabilities=_dict(result.get("capabilities")),
            server_info=_dict(meta.get(methods.META_SERVER_INFO) or result.get("serverInfo")),
            instructions=result.get("instructions") if isinstance(result.get("instructions"), str) else None,
            supported_versions=versions,
        )

    # ------------------------------------------------------------------ requests

    @property
    def era(self) -> Era:
        return self.hello.era if self.hello is not None else "legacy"

    async def request(self, method: str, params: JSON | None, context: object = None) -> Message:
        """Send a request and wait for its response (result or error, as the server sent it).

        Raises ServerUnavailable, ServerTimeout. Cancelling the caller cancels upstream.
        """
        await self._ensure_up()
        return await self._call(method, params, context, self.config.timeout)

    async def _call(
        self, method: str, params: JSON | None, context: object, idle: float, handshake: bool = False
    ) -> Message:
        transport = self.transport
        if transport is None:
            raise ServerUnavailable("not connected")
        request_id = self._next_id
        self._next_id += 1
        loop = asyncio.get_running_loop()
        pending = _Pending(loop.create_future(), context, method)
        if params is not None:
            params = self._prepare_params(request_id, params, pending, handshake)
        self._pending[request_id] = pending
        now = loop.time()
        pending.hard_deadline = now + max(self.config.max_timeout, idle)
        try:
            try:
                await transport.send(messages.request(request_id, method, params))
            except TransportClosed as exc:
                raise ServerUnavailable(exc.reason) from None
            try:
                pending.expire_at(min(now + idle, pending.hard_deadline))
                response = await pending.future
            except TimeoutError:
                await self._cancel_upstream(request_id, "timed out at the gateway")
                raise ServerTimeout(f"{method} timed out") from None
            except asyncio.CancelledError:
                # Cancelling the caller cancels the future it waits on: only an answer already
                # in means the server needs no word of it.
                if pending.future.cancelled() or not pending.future.done():
                    await asyncio.shield(self._cancel_upstream(request_id, "cancelled by the client"))
                raise
            if isinstance(response, _Lost):
                raise ServerUnavailable(response.reason)
            return response
        finally:
            if pending.timer is not None:
                pending.timer.cancel()
            self._pending.pop(request_id, None)
            if pending.progress_token is not None:
                self._progress.pop(f"{request_id}", None)

    def _prepare_params(self, request_id: int, params: JSON, pending: _Pending, handshake: bool) -> JSON:
        """Fit the client's params to this server: its era's envelope, and our own progress token."""
        meta = params.get("_meta")
        if not isinstance(meta, dict):
            meta = None
        era = self.hello.era if self.hello is not None else None
        add_envelope = (
            not handshake
            and era == "modern"
            and self._client_hello is not None
            and not (meta is not None and methods.META_PROTOCOL_VERSION in meta)
        )
        # A 2025-era server must not see the 2026-07-28 envelope: strict servers refuse it.
        drop_envelope = era == "legacy" and meta is not None and any(k in meta for k in ENVELOPE_KEYS)
        token = meta.get("progressToken") if meta is not None else None
        if token is None and not add_envelope and not drop_envelope:
            return params
        new_meta: JSON = dict(meta) if meta is not None else {}
        if add_envelope:
            assert self._client_hello is not None
            new_meta.update(self._client_hello.modern_meta())
        if drop_envelope:
            for key in ENVELOPE_KEYS:
                new_meta.pop(key, None)
        if isinstance(token, (str, int)) and not isinstance(token, bool):
            # Our own token toward the server: unique per connection, mapped back on progress.
            pending.progress_token = token
            new_meta["progressToken"] = f"{request_id}"
            self._progress[f"{request_id}"] = request_id
        out = {**params, "_meta": new_meta}
        if not new_meta:
            del out["_meta"]
        return out

    async def _cancel_upstream(self, request_id: int, reason: str) -> None:
        transport = self.transport
        if transport is None:
            return
        with contextlib.suppress(TransportClosed, Exception):
            await transport.send(
                messages.notification(methods.CANCELLED, {"requestId": request_id, "reason": reason})
            )

    async def notify(self, method: str, params: JSON | None) -> None:
        if self.state != "up" or self.transport is None:
            return
        with contextlib.suppress(TransportClosed):
            await self.transport.send(messages.notification(method, params))

    def _fail_all(self, reason: str) -> None:
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_result(_Lost(reason))  # type: ignore[arg-type]

    # ------------------------------------------------------------------ reading

    async def _read_loop(self, transport: Transport) -> None:
        try:
            while True:
                message = await transport.receive()
                await self._dispatch(message)
        except TransportClosed as exc:
            if self.state != "closed":
                log.warning("server %s: connection lost (%s)", self.name, exc.reason)
            self._went_down(exc.reason)
            self._fail_all(f"server {self.name} went away: {exc.reason}")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("server %s: reader failed", self.name)
            self._went_down("reader failed")
            self._fail_all(f"server {self.name} connection failed")

    async def _dispatch(self, message: Message) -> None:
        kind = message.kind
        if kind is Kind.RESULT or kind is Kind.ERROR:
            request_id = message.id
            pending = self._pending.get(request_id) if isinstance(request_id, int) else None
            if pending is None:
                log.info("server %s: response to an unknown request id; dropped", self.name)
            elif not pending.future.done():
                pending.future.set_result(message)
            return
        if kind is Kind.NOTIFICATION:
            # The call a notification belongs to, where that can be known: its bounds apply.
            context = self._context_for(message)
            if message.method == methods.PROGRESS:
                message, context = self._restore_progress(message)
                if message is None:
                    return
            try:
                await self._handler.on_server_notification(self, message, context)
            except Exception:
                log.exception("server %s: notification handler failed", self.name)
            return
        task = asyncio.create_task(self._serve(message, self._context_for(message)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _restore_progress(self, message: Message) -> tuple[Any, object]:
        token = message.params.get("progressToken")
        request_id = self._progress.get(token) if isinstance(token, str) else None
        pending = self._pending.get(request_id) if request_id is not None else None
        if pending is None:
            log.info("server %s: progress for no request in flight; dropped", self.name)
            return None, None
        if pending.timer is not None and not pending.future.done():
            loop = asyncio.get_running_loop()
            pending.expire_at(min(loop.time() + self.config.timeout, pending.hard_deadline))
        return message.with_params(
            {**message.params, "progressToken": pending.progress_token}
        ), pending.context

    def _context_for(self, message: Message) -> object:
        """Which client request a server->client request belongs to, when that can be known.

        Streamable HTTP says it (`related`: the request whose stream carried it): that request's,
        or, when that request is over, none; never a guess. What comes without (stdio, HTTP+SSE,
        the GET stream) is known only when a single request in flight could have asked,
        preferring one whose context takes server requests.
        """
        related = message.related
        if related is not None:
            pending = self._pending.get(related) if isinstance(related, int) else None
            return pending.context if pending is not None else None
        contexts = [p.context for p in self._pending.values() if p.context is not None]
        askers = [c for c in contexts if getattr(c, "takes_server_requests", False)]
        for candidates in (askers, contexts):
            if len(candidates) == 1:
                return candidates[0]
        return None

    async def _serve(self, message: Message, context: object) -> None:
        try:
            response = await self._handler.on_server_request(self, message, context)
        except Exception:
            log.exception("server %s: handling its %s request failed", self.name, message.method)
            response = messages.error(message.id, methods.INTERNAL_ERROR, "Internal error at the gateway")
        transport = self.transport
        if transport is not None:
            with contextlib.suppress(TransportClosed):
                await transport.send(response)


class _HandshakeRefused(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Lost:
    reason: str


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
