"""`ostiary serve`: Streamable HTTP at one endpoint for many concurrent, isolated clients.

2025-era clients get a session (`Mcp-Session-Id`, bound to the principal that opened it);
2026-07-28 requests are stateless on the wire and share a session per principal and client
capabilities inside the gateway, so servers that still need a handshake see one. A reply is plain
JSON when nothing but the response arrives, and an SSE stream as soon as anything else (progress,
a server->client request) belongs to the request. A client that disconnects cancels its request
upstream.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ostiary import messages, methods
from ostiary.client_side import approvals_api
from ostiary.client_side.asgi import (
    Disconnected,
    Receive,
    Reply,
    Request,
    Response,
    Scope,
    Send,
    StreamReply,
    json_reply,
    text_reply,
)
from ostiary.client_side.http_channel import HttpChannel, Outbox
from ostiary.client_side.http_checks import (
    accepts_post_replies,
    header_mismatch,
    host_allowed,
    json_body,
    origin_allowed,
)
from ostiary.gateway import Gateway
from ostiary.identity import Principal
from ostiary.messages import Kind, Message, ProtocolError, RequestId
from ostiary.session import ClientSession, envelope_problem

log = logging.getLogger("ostiary.front.http")

KEEPALIVE_SECONDS = 15.0
FIRST_BYTE_SECONDS = 1.0
# 2026-07-28 over HTTP: errors about the request itself carry an HTTP status, not 200.
_ERROR_STATUS = {
    methods.METHOD_NOT_FOUND: 404,
    methods.UNSUPPORTED_PROTOCOL_VERSION: 400,
    methods.MISSING_CLIENT_CAPABILITY: 400,
    methods.HEADER_MISMATCH: 400,
}
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass(slots=True)
class _HttpSession:
    session: ClientSession
    channel: HttpChannel
    principal_key: str
    last_used: float = field(default_factory=time.monotonic)
    stateless: bool = False


def _rpc_error(
    status: int,
    code: int,
    text: str,
    request_id: RequestId | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    return json_reply(messages.error(request_id, code, text).raw, status, headers)


def _status_of(response: Message) -> int:
    return _ERROR_STATUS.get(response.error.get("code", 0), 200) if response.kind is Kind.ERROR else 200


def _sse(message: Message) -> bytes:
    return b"event: message\ndata: " + messages.dumps(message) + b"\n\n"


class HttpFront:
    def __init__(
        self, gateway: Gateway, authenticator: Any = None, local_principal: Principal | None = None
    ) -> None:
        self.gateway = gateway
        self.config = gateway.config
        self.listen = gateway.config.listen
        self.authenticator = authenticator
        self.local_principal = local_principal
        self.sessions: dict[str, _HttpSession] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._internal_ids = itertools.count(1)
        self._refusals: Any = None

    def app(self) -> HttpFront:
        """The ASGI application: this front itself."""
        return self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        if request.path == self.listen.path:
            allowed: tuple[str, ...] = ("POST", "GET", "DELETE")
            handler = self.endpoint
        elif self.authenticator is not None and request.path in self._metadata_paths():
            allowed = ("GET",)
            handler = self.metadata
        elif approvals_api.handles(request.path):
            allowed = ("GET", "POST")
            handler = self.approvals
        else:
            await text_reply("Not Found", 404)(send)
            return
        if request.method not in allowed:
            await text_reply("Method Not Allowed", 405, {"Allow": ", ".join(allowed)})(send)
            return
        await (await handler(request))(send)

    def _metadata_paths(self) -> set[str]:
        # RFC 9728: at the path-suffixed location, and at the root for clients that only look there.
        return {self.authenticator.metadata_path, "/.well-known/oauth-protected-resource"}

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """ASGI lifespan: the gateway starts before the first request and closes after the last."""
        await receive()  # lifespan.startup
        try:
            await self.gateway.start()
        except Exception as exc:
            log.exception("the gateway did not start")
            await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
            return
        self._reaper = asyncio.create_task(self._reap())
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        try:
            self._reaper.cancel()
            for entry in list(self.sessions.values()):
                await entry.session.close()
            self.sessions.clear()
            await self.gateway.close()
        finally:
            await send({"type": "lifespan.shutdown.complete"})

    async def metadata(self, request: Request) -> Response:
        return json_reply(self.authenticator.metadata())

    async def approvals(self, request: Request) -> Response:
        """The approvals API: the endpoint's Origin, Host and authentication checks, then the API."""
        headers = request.headers
        if not origin_allowed(headers.get("origin"), self.listen) or not host_allowed(
            headers.get("host"), self.listen
        ):
            return json_reply({"error": "forbidden", "message": "origin or host not allowed"}, 403)
        principal = await self._authenticate(request)
        if isinstance(principal, Principal):
            return await approvals_api.handle(request, principal, self.gateway.approval_service)
        return principal

    async def _reap(self) -> None:
        listen = self.listen
        limits = (listen.session_idle_timeout, listen.detached_idle_timeout, listen.stateless_idle_timeout)
        shortest = min(limits)
        while True:
            await asyncio.sleep(min(60.0, shortest / 4))
            now = time.monotonic()
            for sid, entry in list(self.sessions.items()):
                if entry.stateless:
                    limit = listen.stateless_idle_timeout
                elif entry.channel.standalone is not None:
                    limit = listen.session_idle_timeout
                else:
                    limit = listen.detached_idle_timeout
                if entry.last_used < now - limit and not entry.session.calls:
                    log.info("session %s idle; closed", sid[:8])
                    self.sessions.pop(sid, None)
                    await entry.session.close()

    # ------------------------------------------------------------------ the endpoint

    async def endpoint(self, request: Request) -> Response:
        headers = request.headers
        if not origin_allowed(headers.get("origin"), self.listen):
            return _rpc_error(403, methods.INVALID_REQUEST, "Forbidden: origin not allowed")
        if not host_allowed(headers.get("host"), self.listen):
            return _rpc_error(403, methods.INVALID_REQUEST, "Forbidden: host not allowed")
        principal = await self._authenticate(request)
        if isinstance(principal, Response):
            return principal
        if request.method == "POST":
            return await self._post(request, principal)
        if request.method == "GET":
            return await self._get(request, principal)
        return await self._delete(request, principal)

    async def _authenticate(self, request: Request) -> Principal | Response:
        if self.authenticator is None:
            assert self.local_principal is not None
            return self.local_principal
        from ostiary.auth import AuthError  # noqa: PLC0415

        try:
            principal: Principal = await self.authenticator.authenticate(
                request.headers, request.query_params
            )
        except AuthError as exc:
            await self._record_refusal(request, exc)
            extra = {"WWW-Authenticate": exc.www_authenticate} if exc.www_authenticate else None
            body = {"error": exc.error, "error_description": exc.description}
            return json_reply(body, exc.status, extra)
        return principal

    async def _record_refusal(self, request: Request, exc: Any) -> None:
        """An audit record of who was turned away, from where and why (rate-limited)."""
        if self.gateway.audit is None:
            return
        if self._refusals is None:
            from ostiary.audit.refusals import RefusalRecorder  # noqa: PLC0415

            self._refusals = RefusalRecorder(self.gateway.audit)
        await self._refusals.record(
            exc.status, exc.error, exc.description, request.headers, request.client, request.path
        )

    def _existing(self, request: Request, principal: Principal) -> _HttpSession | Response:
        sid = request.headers.get("mcp-session-id")
        if sid is None:
            return _rpc_error(400, methods.INVALID_REQUEST, "Bad Request: missing Mcp-Session-Id")
        entry = self.sessions.get(sid)
        if entry is None or entry.principal_key != principal.key:
            return _rpc_error(404, methods.INVALID_REQUEST, "Session not found")
        entry.last_used = time.monotonic()
        return entry

    async def _read_body(self, request: Request) -> bytes | Response:
        limit = self.config.limits.max_message_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return _rpc_error(413, methods.INVALID_REQUEST, "Message too large")
        try:
            body = await request.body(limit)
        except Disconnected:
            return Reply(499)  # nobody is left to read it
        return _rpc_error(413, methods.INVALID_REQUEST, "Message too large") if body is None else body

    async def _post(self, request: Request, principal: Principal) -> Response:
        if not json_body(request.headers.get("content-type")):
            return _rpc_error(415, methods.INVALID_REQUEST, "Unsupported Media Type: use application/json")
        if not accepts_post_replies(request.headers.get("accept")):
            text = "Not Acceptable: accept application/json and text/event-stream"
            return _rpc_error(406, methods.INVALID_REQUEST, text)
        body = await self._read_body(request)
        if isinstance(body, Response):
            return body
        try:
            obj = messages.loads(body)
            if isinstance(obj, list):
                raise ProtocolError(methods.INVALID_REQUEST, "Invalid Request: batches are not supported")
            message = messages.classify(obj)
        except ProtocolError as exc:
            return json_reply(exc.to_message().raw, 400)
        meta = message.params.get("_meta") if message.kind is Kind.REQUEST else None
        header_version = request.headers.get("mcp-protocol-version")
        modern = message.kind is Kind.REQUEST and (
            (isinstance(meta, dict) and methods.META_PROTOCOL_VERSION in meta)
            or (header_version in methods.MODERN_VERSIONS and "mcp-session-id" not in request.headers)
        )
        if modern:  # stateless: an Mcp-Session-Id header, if any, is ignored as the revision requires
            # Headers first: a body that disagrees with them is a mismatch, whatever else is wrong.
            problem = header_mismatch(message, request.headers)
            if problem is not None:
                return _rpc_error(400, methods.HEADER_MISMATCH, f"Header mismatch: {problem}", message.id)
            invalid = envelope_problem(message)
            if invalid is not None:
                status = 404 if invalid.code == methods.METHOD_NOT_FOUND else 400
                return json_reply(invalid.to_message().raw, status)
            entry: _HttpSession | Response = await self._modern_session(
                principal, meta if isinstance(meta, dict) else {}
            )
        elif message.method == methods.INITIALIZE:
            entry = await self._new_session(principal)
        else:
            entry = self._existing(request, principal)
            if isinstance(entry, _HttpSession):
                version = request.headers.get("mcp-protocol-version")
                if version is not None and version not in methods.ALL_VERSIONS:
                    return _rpc_error(
                        400, methods.INVALID_REQUEST, f"Unsupported MCP-Protocol-Version: {version}"
                    )
        if isinstance(entry, Response):
            return entry
        if message.kind is not Kind.REQUEST:
            await entry.session.receive(message)
            return Reply(202)
        client_id = message.id
        if modern:
            # Stateless hosts of one principal share a session, and each numbers its requests from
            # 1: inside the gateway a request is known by an id no other host can send.
            message = message.with_id(f"ostiary:{next(self._internal_ids)}")
        return await self._reply(request, entry, message, client_id)

    async def _new_session(self, principal: Principal, sid: str | None = None) -> _HttpSession | Response:
        mine = [e for e in self.sessions.values() if e.principal_key == principal.key]
        if len(mine) >= self.listen.max_sessions_per_principal:
            idle = [e for e in mine if not e.session.calls]
            if not idle:
                return _rpc_error(429, methods.INTERNAL_ERROR, "Too many sessions for this principal")
            oldest = min(idle, key=lambda e: e.last_used)
            log.info(
                "session %s: closed to make room for a new one of the same principal",
                oldest.session.session_id[:8],
            )
            self.sessions.pop(oldest.session.session_id, None)
            await oldest.session.close()
        if len(self.sessions) >= self.listen.max_sessions:
            return _rpc_error(503, methods.INTERNAL_ERROR, "Too many sessions")
        sid = sid or secrets.token_urlsafe(32)
        channel = HttpChannel()
        entry = _HttpSession(self.gateway.open_session(principal, channel, sid), channel, principal.key)
        self.sessions[sid] = entry
        return entry

    async def _modern_session(self, principal: Principal, meta: dict[str, Any]) -> _HttpSession | Response:
        capabilities = meta.get(methods.META_CLIENT_CAPABILITIES)
        digest = hashlib.sha256(messages.dumps({"c": capabilities})).hexdigest()[:32]
        key = f"modern:{hashlib.sha256(principal.key.encode()).hexdigest()[:16]}:{digest}"
        entry = self.sessions.get(key)
        if entry is not None and entry.principal_key == principal.key:
            entry.last_used = time.monotonic()
            return entry
        created = await self._new_session(principal, key)
        if isinstance(created, _HttpSession):
            created.stateless = True
        return created

    async def _reply(
        self, request: Request, entry: _HttpSession, message: Message, client_id: RequestId | None
    ) -> Response:
        assert message.id is not None
        request_id = message.id
        out = _Restore(request_id, client_id)
        accepts_sse = "text/event-stream" in request.headers.get("accept", "")
        queue = entry.channel.open_stream(request_id)
        await entry.session.receive(message)
        disconnected = asyncio.create_task(request.wait_disconnect())
        disconnected.add_done_callback(queue.wake)
        # A call that has nothing to say yet does not keep the client waiting for headers: after a
        # moment it becomes an SSE stream that opens with a keep-alive.
        # (Not initialize: its Mcp-Session-Id header depends on how the handshake ends.)
        early = accepts_sse and message.method != methods.INITIALIZE
        first = await self._next(queue, disconnected, FIRST_BYTE_SECONDS if early else None)
        if first is None:
            await self._abandon(entry, request_id)
            return Reply(499)
        extra: dict[str, str] = {}
        if message.method == methods.INITIALIZE and first.kind is Kind.RESULT:
            extra["Mcp-Session-Id"] = entry.session.session_id
        elif message.method == methods.INITIALIZE:
            self.sessions.pop(entry.session.session_id, None)
            await entry.session.close()
        if out.is_final(first):
            disconnected.cancel()
            entry.channel.close_stream(request_id)
            status = _status_of(first) if client_id != request_id else 200
            return Reply(status, messages.dumps(out(first)), "application/json", extra)
        if not accepts_sse:
            return await self._json_only(entry, out, queue, first, disconnected, extra)
        return StreamReply(self._stream(entry, out, queue, first, disconnected), {**SSE_HEADERS, **extra})

    async def _json_only(
        self,
        entry: _HttpSession,
        out: _Restore,
        queue: Outbox,
        first: Message,
        disconnected: asyncio.Task[None],
        extra: dict[str, str],
    ) -> Response:
        """A client that takes no SSE: whatever else belongs to its request goes to its GET stream."""
        message: Message | None = first
        while message is not None and not out.is_final(message):
            await entry.channel.send(message, None)
            message = await self._next(queue, disconnected, None)
        disconnected.cancel()
        entry.channel.close_stream(out.internal)
        if message is None:
            await self._abandon(entry, out.internal)
            return Reply(499)
        return Reply(200, messages.dumps(out(message)), "application/json", extra)

    async def _stream(
        self,
        entry: _HttpSession,
        out: _Restore,
        queue: Outbox,
        first: Message,
        disconnected: asyncio.Task[None],
    ) -> AsyncIterator[bytes]:
        finished = False
        try:
            message: Message | None = first
            while message is not None:
                yield b": keep-alive\n\n" if message is _KEEPALIVE else _sse(out(message))
                if out.is_final(message):
                    finished = True
                    return
                message = await self._next(queue, disconnected)
                while message is _KEEPALIVE:
                    yield b": keep-alive\n\n"
                    message = await self._next(queue, disconnected)
        finally:
            disconnected.cancel()
            entry.channel.close_stream(out.internal)
            if not finished:
                await self._abandon(entry, out.internal)

    async def _next(
        self,
        queue: Outbox,
        disconnected: asyncio.Task[None],
        keepalive: float | None = KEEPALIVE_SECONDS,
    ) -> Message | None:
        """The next message; None if the client went away; _KEEPALIVE after `keepalive` seconds."""
        got = await queue.next(disconnected, keepalive)
        if isinstance(got, Message):
            return got
        return _KEEPALIVE if got else None

    async def _abandon(self, entry: _HttpSession, request_id: Any) -> None:
        """The client went away mid-request: cancel it, as a stdio client's cancellation would."""
        entry.channel.close_stream(request_id)
        await entry.session.receive(messages.notification(methods.CANCELLED, {"requestId": request_id}))

    async def _get(self, request: Request, principal: Principal) -> Response:
        if "text/event-stream" not in request.headers.get("accept", ""):
            return _rpc_error(406, methods.INVALID_REQUEST, "Not Acceptable: GET needs text/event-stream")
        if "mcp-session-id" not in request.headers:
            return _rpc_error(405, methods.INVALID_REQUEST, "Method Not Allowed")
        entry = self._existing(request, principal)
        if isinstance(entry, Response):
            return entry
        queue = entry.channel.attach_standalone()
        if queue is None:
            return _rpc_error(409, methods.INVALID_REQUEST, "Conflict: a GET stream is already open")
        disconnected = asyncio.create_task(request.wait_disconnect())
        disconnected.add_done_callback(queue.wake)

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b": stream open\n\n"
                while True:
                    message = await self._next(queue, disconnected)
                    if message is None:
                        return
                    yield b": keep-alive\n\n" if message is _KEEPALIVE else _sse(message)
            finally:
                disconnected.cancel()
                entry.channel.detach_standalone()

        return StreamReply(stream(), SSE_HEADERS)

    async def _delete(self, request: Request, principal: Principal) -> Response:
        if "mcp-session-id" not in request.headers:
            return _rpc_error(405, methods.INVALID_REQUEST, "Method Not Allowed")
        entry = self._existing(request, principal)
        if isinstance(entry, Response):
            return entry
        self.sessions.pop(entry.session.session_id, None)
        await entry.session.close()
        return Reply(200)


_KEEPALIVE = messages.notification("ostiary/keepalive")


class _Restore:
    """The response to a request goes back under the id its client gave it."""

    def __init__(self, internal: RequestId, client_id: RequestId | None) -> None:
        self.internal = internal
        self.client_id = client_id if client_id is not None else internal

    def is_final(self, message: Message) -> bool:
        return message.is_response and message.id == self.internal

    def __call__(self, message: Message) -> Message:
        if self.client_id == self.internal:
            return message
        if self.is_final(message):
            message = message.with_id(self.client_id)
        # A `subscriptions/listen` is named by its request id: its acknowledgement, its
        # notifications and its result carry that id in `_meta`, and must carry the client's.
        body = message.result if message.is_response else message.params
        meta = body.get("_meta") if isinstance(body, dict) else None
        if isinstance(meta, dict) and meta.get(methods.META_SUBSCRIPTION_ID) == self.internal:
            restored = {**body, "_meta": {**meta, methods.META_SUBSCRIPTION_ID: self.client_id}}
            message = message.with_result(restored) if message.is_response else message.with_params(restored)
        return message
