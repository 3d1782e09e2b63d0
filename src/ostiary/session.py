"""One host conversation: lifecycle, routing, ids, lists, notifications and era bridging.

The session answers the lifecycle itself (`initialize`, `server/discover`, `ping`) from what the
servers said in their own handshakes, and sends everything else to the server that owns it: tools
and prompts by namespaced name, resources by URI. Each forwarded message passes the pipeline on the
way in and on the way out. Server->client requests are relayed to this session's client under ids
the gateway allocates, so nothing a server sends can reach another client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ostiary import __version__, bridge, messages, methods
from ostiary.catalog import LIST_CAPABILITY, LIST_KEYS, Catalog, decode_cursor, encode_cursor
from ostiary.config import Config, ServerConfig
from ostiary.identity import Principal
from ostiary.messages import JSON, Kind, Message, ProtocolError, RequestId, id_key
from ostiary.pipeline import Decision, Exchange, Hook, Pipeline, Verdict
from ostiary.server_side.connection import ServerConnection, ServerTimeout, ServerUnavailable
from ostiary.server_side.hello import ClientHello, Era, strip_unrelayable_capabilities
from ostiary.subscriptions import Listeners
from ostiary.transports.base import Transport

log = logging.getLogger("ostiary.session")

TransportFactory = Callable[[str, ServerConfig, Principal], Transport]
_NAMED_CALLS = {methods.TOOLS_CALL: methods.TOOLS_LIST, methods.PROMPTS_GET: methods.PROMPTS_LIST}
_URI_CALLS = frozenset({methods.RESOURCES_READ, methods.RESOURCES_SUBSCRIBE, methods.RESOURCES_UNSUBSCRIBE})
_CHANGED_LIST = {
    methods.TOOLS_LIST_CHANGED: methods.TOOLS_LIST,
    methods.PROMPTS_LIST_CHANGED: methods.PROMPTS_LIST,
    methods.RESOURCES_LIST_CHANGED: methods.RESOURCES_LIST,
}


class ClientChannel(Protocol):
    async def send(self, message: Message, related: RequestId | None) -> None:
        """Deliver to the client; `related` names the client request it belongs to, if any."""


@dataclass(slots=True)
class GatewayContext:
    """What every session of one gateway shares; built by the composition root."""

    config: Config
    pipeline: Pipeline
    transport_factory: TransportFactory


@dataclass(slots=True)
class Call:
    """A client request in flight."""

    client_id: RequestId
    message: Message
    era: Era
    task: asyncio.Task[None] | None = None
    done: bool = False
    exchange: Exchange | None = None


def denial(request_id: RequestId | None, verdict: Verdict) -> Message:
    data = {"code": verdict.code, "inspection": verdict.inspection}
    return messages.error(
        request_id, methods.GATEWAY_DENIED, verdict.reason or "Denied by the gateway.", data
    )


class ClientSession:
    def __init__(
        self, ctx: GatewayContext, principal: Principal, channel: ClientChannel, session_id: str
    ) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self.pipeline = ctx.pipeline
        self.principal = principal
        self.channel = channel
        self.session_id = session_id
        self.era: Era | None = None
        self.protocol_version = ""
        self.hello: ClientHello | None = None
        self.initialized = False
        self.connections: dict[str, ServerConnection] = {}
        self.excluded: dict[str, str] = {}
        self.catalog = Catalog({n: ctx.config.prefix_of(n) for n in ctx.config.servers})
        self.calls: dict[tuple[bool, RequestId], Call] = {}
        self.parking = bridge.Parking(
            ttl=max((s.max_timeout for s in ctx.config.servers.values()), default=600)
        )
        self.listeners = Listeners(self)
        self._asks: dict[int, asyncio.Future[Message]] = {}
        self._next_ask = 1
        self._opening: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.closed = False

    # ------------------------------------------------------------------ entry points

    async def receive(self, message: Message) -> None:
        """Take one message from the client. Requests run concurrently; the rest in order."""
        kind = message.kind
        if kind is Kind.REQUEST:
            assert message.id is not None
            key = id_key(message.id)
            if key in self.calls:
                await self._send(
                    messages.error(message.id, methods.INVALID_REQUEST, "Duplicate request id"), None
                )
                return
            if len(self.calls) >= self.config.limits.max_in_flight_per_session:
                await self._send(
                    messages.error(message.id, methods.INTERNAL_ERROR, "Too many requests in flight"), None
                )
                return
            call = Call(message.id, message, "legacy")
            self.calls[key] = call
            call.task = asyncio.create_task(self._run(call, key))
        elif kind is Kind.NOTIFICATION:
            await self._client_notification(message)
        else:
            ask = self._asks.pop(message.id, None) if isinstance(message.id, int) else None
            if ask is None or ask.done():
                log.info(
                    "session %s: client answered a request that is not pending; dropped", self.session_id
                )
            else:
                ask.set_result(message)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.parking.close()
        for call in list(self.calls.values()):
            if call.task is not None:
                call.task.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._opening is not None:
            self._opening.cancel()
        await asyncio.gather(*(c.close() for c in self.connections.values()), return_exceptions=True)

    async def _send(self, message: Message, related: RequestId | None) -> None:
        if not self.closed:
            await self.channel.send(message, related)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ requests

    async def _run(self, call: Call, key: tuple[bool, RequestId]) -> None:
        response: Message | None
        try:
            response = await self._handle(call)
        except ProtocolError as exc:
            response = messages.error(call.client_id, exc.code, exc.message, exc.data)
        except asyncio.CancelledError:
            response = None  # cancelled by the client: no response, as the protocol requires
        except Exception:
            log.exception("session %s: %s failed", self.session_id, call.message.method)
            response = messages.error(call.client_id, methods.INTERNAL_ERROR, "Internal error at the gateway")
        finally:
            call.done = True
            self.calls.pop(key, None)
        if response is not None:
            try:
                await self._send(response, call.client_id)
            except Exception as exc:
                log.info("session %s: could not deliver a response (%s)", self.session_id, type(exc).__name__)

    async def _handle(self, call: Call) -> Message:
        message = call.message
        method = message.method
        if method == methods.INITIALIZE:
            return await self._initialize(message)
        call.era = self._request_era(message)
        if method == methods.PING:
            return messages.result(call.client_id, {} if call.era == "legacy" else {"resultType": "complete"})
        await self._open_servers()
        if method == methods.DISCOVER:
            response = messages.result(call.client_id, self._discover_result())
        elif method in LIST_KEYS:
            response = await self._list(call)
        elif method in _NAMED_CALLS:
            response = await self._named_call(call)
        elif method in _URI_CALLS:
            response = await self._uri_call(call)
        elif method == methods.COMPLETE:
            response = await self._complete(call)
        elif method == methods.LOGGING_SET_LEVEL:
            response = await self._set_level(call)
        elif method == methods.SUBSCRIPTIONS_LISTEN:
            response = await self.listeners.listen(call)
        else:
            response = await self._unknown(call)
        if response.kind is Kind.RESULT:
            result = response.result
            adapted = (
                bridge.for_modern_client(method, result)
                if call.era == "modern"
                else bridge.for_legacy_client(result)
            )
            if adapted is not result:
                response = response.with_result(adapted)
        return response

    def _request_era(self, message: Message) -> Era:
        meta = message.params.get("_meta")
        version = meta.get(methods.META_PROTOCOL_VERSION) if isinstance(meta, dict) else None
        if version is None:
            if self.era == "legacy":
                return "legacy"
            if message.method == methods.PING:
                return "legacy"
            raise ProtocolError(
                methods.INVALID_REQUEST,
                "Session not initialized: send initialize, or a 2026-07-28 request with its _meta envelope",
                message.id,
            )
        assert isinstance(meta, dict)
        if version not in methods.MODERN_VERSIONS:
            raise _unsupported_version(message.id, version)
        capabilities = meta.get(methods.META_CLIENT_CAPABILITIES)
        if not isinstance(capabilities, dict):
            raise ProtocolError(
                methods.INVALID_PARAMS, f"Missing _meta[{methods.META_CLIENT_CAPABILITIES!r}]", message.id
            )
        if self.hello is None:
            info = meta.get(methods.META_CLIENT_INFO)
            self.era = "modern"
            self.protocol_version = version
            self.hello = ClientHello(
                "modern",
                version,
                strip_unrelayable_capabilities(capabilities),
                info if isinstance(info, dict) else {},
            )
        return "modern"

    async def _initialize(self, message: Message) -> Message:
        if self.hello is not None:
            return messages.error(message.id, methods.INVALID_REQUEST, "The session is already initialized")
        params = message.params
        requested = params.get("protocolVersion")
        version = requested if requested in methods.HANDSHAKE_VERSIONS else methods.LATEST_HANDSHAKE
        capabilities = params.get("capabilities")
        info = params.get("clientInfo")
        self.era = "legacy"
        self.protocol_version = str(version)
        self.hello = ClientHello(
            "legacy",
            self.protocol_version,
            strip_unrelayable_capabilities(capabilities if isinstance(capabilities, dict) else {}),
            info if isinstance(info, dict) else {},
        )
        await self._open_servers()
        result: JSON = {
            "protocolVersion": self.protocol_version,
            "capabilities": self.server_capabilities(),
            "serverInfo": self._server_info(),
        }
        instructions = self._instructions()
        if instructions:
            result["instructions"] = instructions
        return messages.result(message.id if message.id is not None else 0, result)

    # ------------------------------------------------------------------ servers

    async def _open_servers(self) -> None:
        if self._opening is None:
            self._opening = asyncio.create_task(self._open_all())
        await asyncio.shield(self._opening)

    def _create_connections(self) -> None:
        for name, server in self.config.servers.items():
            if server.enabled and name not in self.connections:
                maker = self._transport_maker(name, server)
                self.connections[name] = ServerConnection(name, server, maker, self)

    async def prestart(self) -> None:
        """Start stdio servers before the client's first message: what a desktop host waits on."""
        self._create_connections()
        stdio = [c.spawn() for c in self.connections.values() if c.config.kind == "stdio"]
        await asyncio.gather(*stdio, return_exceptions=True)

    async def _open_all(self) -> None:
        self._create_connections()
        await asyncio.gather(*(self._open_one(c) for c in self.connections.values()))

    def _transport_maker(self, name: str, server: ServerConfig) -> Callable[[], Transport]:
        factory, principal = self.ctx.transport_factory, self.principal
        return lambda: factory(name, server, principal)

    async def _open_one(self, conn: ServerConnection) -> None:
        assert self.hello is not None
        try:
            hello = await conn.open(self.hello)
        except ServerUnavailable as exc:
            log.warning("server %s is unavailable: %s", conn.name, exc)
            return
        if conn.handshake_result is None:
            return
        method = methods.DISCOVER if hello.era == "modern" else methods.INITIALIZE
        decision = await self.pipeline.run(
            Hook.SERVER_RESPONSE, conn.handshake_result, self._exchange(method, conn.name, None)
        )
        if not decision.forwarded:
            self.excluded[conn.name] = decision.verdict.code
            log.warning(
                "server %s withheld by %s (%s)", conn.name, decision.verdict.inspection, decision.verdict.code
            )
        elif decision.message is not conn.handshake_result:
            text = decision.message.result.get("instructions")
            hello.instructions = text if isinstance(text, str) else None

    def live(self) -> dict[str, ServerConnection]:
        return {
            n: c
            for n, c in self.connections.items()
            if n not in self.excluded and (c.hello is not None or c.state != "new")
        }

    def server_capabilities(self) -> JSON:
        merged: JSON = {}
        for conn in self.live().values():
            if conn.hello is None:
                continue
            for key, value in conn.hello.capabilities.items():
                if key == "tasks":
                    continue
                if isinstance(value, dict) and isinstance(merged.get(key), dict):
                    merged[key] = {**merged[key], **{k: v or merged[key].get(k) for k, v in value.items()}}
                elif key not in merged:
                    merged[key] = value
        return merged

    def _server_info(self) -> JSON:
        live = [c for c in self.live().values() if c.hello is not None]
        if len(self.config.servers) == 1 and len(live) == 1 and live[0].hello is not None:
            info = live[0].hello.server_info
            if info:
                return info
        return {"name": self.config.name, "version": __version__}

    def _instructions(self) -> str | None:
        parts = [
            (n, c.hello.instructions)
            for n, c in self.live().items()
            if c.hello is not None and c.hello.instructions
        ]
        if not parts:
            return None
        if len(self.config.servers) == 1:
            return parts[0][1]
        return "\n\n".join(f"## {name}\n{text}" for name, text in parts)

    def _discover_result(self) -> JSON:
        result: JSON = {
            "supportedVersions": list(methods.MODERN_VERSIONS),
            "capabilities": self.server_capabilities(),
            "_meta": {methods.META_SERVER_INFO: self._server_info()},
        }
        instructions = self._instructions()
        if instructions:
            result["instructions"] = instructions
        return result

    def _exchange(
        self,
        method: str,
        server: str | None,
        request: Message | None,
        target: str | None = None,
        definition: JSON | None = None,
    ) -> Exchange:
        return Exchange(
            principal=self.principal,
            session_id=self.session_id,
            method=method,
            server=server,
            target=target,
            definition=definition,
            request=request,
            client_info=self.hello.client_info if self.hello is not None else {},
            protocol_version=self.protocol_version,
        )

    # ------------------------------------------------------------------ forwarding

    async def forward(
        self,
        call: Call,
        server: str,
        params: JSON,
        target: str | None = None,
        definition: JSON | None = None,
        method: str | None = None,
    ) -> Message:
        """Send one client request to one server through the pipeline, both ways."""
        method = method or call.message.method
        conn = self.connections.get(server)
        exchange = self._exchange(method, server, call.message, target, definition)
        call.exchange = exchange
        outgoing = messages.request(call.client_id, method, params)
        decision = await self.pipeline.run(Hook.CLIENT_REQUEST, outgoing, exchange)
        if not decision.forwarded:
            return denial(call.client_id, decision.verdict)
        if conn is None or server in self.excluded:
            response = messages.error(None, methods.UPSTREAM_UNAVAILABLE, f"Server {server} is unavailable")
        else:
            response = await self._exchange_with(conn, call, method, decision.message.params)
        final: Decision = await self.pipeline.run(Hook.SERVER_RESPONSE, response, exchange)
        if not final.forwarded:
            return denial(call.client_id, final.verdict)
        return final.message.with_id(call.client_id)

    async def _exchange_with(self, conn: ServerConnection, call: Call, method: str, params: JSON) -> Message:
        try:
            if method in methods.MRTR_METHODS and call.era == "modern" and conn.era == "legacy":
                return await self._park_for_modern_client(conn, call, method, params)
            response = await conn.request(method, params, call)
            if method in methods.MRTR_METHODS and call.era == "legacy" and conn.era == "modern":
                response = await self._answer_for_legacy_client(conn, call, method, params, response)
            return response
        except ServerUnavailable as exc:
            log.warning("server %s: %s failed: %s", conn.name, method, exc)
            return messages.error(None, methods.UPSTREAM_UNAVAILABLE, f"Server {conn.name} is unavailable")
        except ServerTimeout:
            return messages.error(
                None, methods.UPSTREAM_TIMEOUT, f"Server {conn.name} did not answer in time"
            )

    async def _park_for_modern_client(
        self, conn: ServerConnection, call: Call, method: str, params: JSON
    ) -> Message:
        parked = self.parking.take(params.get("requestState"), self.principal.key)
        if parked is not None:
            parked.answer(params.get("inputResponses"))
        else:
            parked = bridge.ParkedCall(self.principal.key)
            parked.task = asyncio.create_task(
                conn.request(method, bridge.without_retry_fields(params), parked)
            )
        parked.call = call
        outcome = await self.parking.next_outcome(parked)
        return outcome if isinstance(outcome, Message) else messages.result(call.client_id, outcome)

    async def _answer_for_legacy_client(
        self, conn: ServerConnection, call: Call, method: str, params: JSON, response: Message
    ) -> Message:
        for _ in range(bridge.MAX_ROUNDS):
            if response.kind is not Kind.RESULT or not bridge.is_input_required(response.result):
                return response
            asks = response.result.get("inputRequests")
            answers: JSON = {}
            for key, ask in (asks if isinstance(asks, dict) else {}).items():
                if not isinstance(ask, dict) or not isinstance(ask.get("method"), str):
                    return messages.error(
                        None, methods.INTERNAL_ERROR, "Server sent a malformed input request"
                    )
                request = messages.request(
                    0, ask["method"], ask.get("params") if isinstance(ask.get("params"), dict) else None
                )
                reply = await self.ask_client(conn.name, request, call)
                if reply.kind is not Kind.RESULT:
                    return reply
                answers[key] = reply.result
            retry = {**bridge.without_retry_fields(params), "inputResponses": answers}
            if "requestState" in response.result:
                retry["requestState"] = response.result["requestState"]
            response = await conn.request(method, retry, call)
        return messages.error(None, methods.INTERNAL_ERROR, "Too many input rounds")

    async def ask_client(self, server: str, request: Message, call: Call | None) -> Message:
        """Relay a server->client request to this session's client and return its answer."""
        exchange = self._exchange(request.method, server, call.message if call else None)
        decision = await self.pipeline.run(Hook.SERVER_REQUEST, request, exchange)
        if not decision.forwarded:
            return denial(None, decision.verdict)
        ask_id = self._next_ask
        self._next_ask += 1
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._asks[ask_id] = future
        limit = self.config.servers[server].max_timeout if server in self.config.servers else 600.0
        try:
            await self._send(decision.message.with_id(ask_id), call.client_id if call else None)
            async with asyncio.timeout(limit):
                reply = await future
        except TimeoutError:
            return messages.error(None, methods.INTERNAL_ERROR, "The client did not answer in time")
        finally:
            self._asks.pop(ask_id, None)
        answered = await self.pipeline.run(Hook.CLIENT_RESPONSE, reply, exchange)
        if not answered.forwarded:
            return denial(None, answered.verdict)
        return answered.message

    # ------------------------------------------------------------------ by kind of request

    async def _list(self, call: Call) -> Message:
        """One page from every server at once, merged; the cursor carries each server's own."""
        method = call.message.method
        key = LIST_KEYS[method]
        capability = LIST_CAPABILITY[method]
        order = [
            n for n, c in self.live().items() if c.hello is not None and capability in c.hello.capabilities
        ]
        params = {k: v for k, v in call.message.params.items() if k != "cursor"}
        if "cursor" in call.message.params:
            pending: dict[str, str | None] = dict(decode_cursor(call.message.params["cursor"], order))
        else:
            pending = dict.fromkeys(order)
        if not pending:
            return messages.result(call.client_id, {key: []})
        servers = list(pending)
        pages = await asyncio.gather(
            *(
                self.forward(call, s, params if pending[s] is None else {**params, "cursor": pending[s]})
                for s in servers
            )
        )
        if len(servers) == 1 and pages[0].kind is not Kind.RESULT:
            return pages[0]
        items: list[Any] = []
        more: dict[str, str] = {}
        out: JSON = {}
        for server, page in zip(servers, pages, strict=True):
            if page.kind is not Kind.RESULT:
                log.warning("server %s: %s failed; listing the others", server, method)
                continue
            result = page.result
            nxt = result.get("nextCursor")
            raw = result.get(key)
            items.extend(
                self.catalog.record_page(
                    server, method, raw if isinstance(raw, list) else [], not isinstance(nxt, str)
                )
            )
            if isinstance(nxt, str):
                more[server] = nxt
            if len(servers) == 1:  # one server: keep whatever else its result carried
                out = {k: v for k, v in result.items() if k not in (key, "nextCursor")}
        out[key] = items
        if more:
            out["nextCursor"] = encode_cursor(more)
        return messages.result(call.client_id, out)

    async def _resolve_named(self, list_method: str, exposed: object) -> tuple[str, str]:
        if not isinstance(exposed, str) or not exposed:
            raise ProtocolError(methods.INVALID_PARAMS, "Missing name")
        found = self.catalog.resolve(list_method, exposed)
        if found is None or found[0] not in self.connections:
            kind = "tool" if list_method == methods.TOOLS_LIST else "prompt"
            raise ProtocolError(methods.INVALID_PARAMS, f"Unknown {kind}: {exposed}")
        return found

    async def _named_call(self, call: Call) -> Message:
        list_method = _NAMED_CALLS[call.message.method]
        params = call.message.params
        server, name = await self._resolve_named(list_method, params.get("name"))
        definition = self.catalog.definition(list_method, server, name)
        if definition is None and (server, list_method) not in self.catalog.complete:
            await self.refresh(server, list_method)
            definition = self.catalog.definition(list_method, server, name)
        return await self.forward(call, server, {**params, "name": name}, name, definition)

    async def refresh(self, server: str, list_method: str) -> None:
        """List a server's tools or prompts again (through the pipeline) to learn their definitions."""
        conn = self.connections.get(server)
        if conn is None or conn.hello is None or LIST_CAPABILITY[list_method] not in conn.hello.capabilities:
            return
        internal = Call(
            f"ostiary-refresh-{server}", messages.request(0, list_method, {}), self.era or "legacy"
        )
        cursor: str | None = None
        for _ in range(64):
            params: JSON = {} if cursor is None else {"cursor": cursor}
            response = await self.forward(internal, server, params, method=list_method)
            if response.kind is not Kind.RESULT:
                return
            nxt = response.result.get("nextCursor")
            cursor = nxt if isinstance(nxt, str) else None
            items = response.result.get(LIST_KEYS[list_method])
            self.catalog.record_page(
                server, list_method, items if isinstance(items, list) else [], cursor is None
            )
            if cursor is None:
                return

    async def server_for_uri(self, uri: object) -> str:
        if not isinstance(uri, str) or not uri:
            raise ProtocolError(methods.INVALID_PARAMS, "Missing uri")
        server = self.catalog.server_for_uri(uri)
        if server is not None:
            return server
        candidates = [
            n for n, c in self.live().items() if c.hello is not None and "resources" in c.hello.capabilities
        ]
        if len(candidates) == 1:
            return candidates[0]
        for name in candidates:
            for method in (methods.RESOURCES_TEMPLATES_LIST, methods.RESOURCES_LIST):
                if (name, method) not in self.catalog.complete:
                    await self.refresh_resources(name, method)
        server = self.catalog.server_for_uri(uri)
        if server is None:
            code = methods.INVALID_PARAMS if self.era == "modern" else -32002
            raise ProtocolError(code, f"Resource not found: {uri}")
        return server

    async def refresh_resources(self, server: str, method: str) -> None:
        internal = Call(f"ostiary-refresh-{server}", messages.request(0, method, {}), self.era or "legacy")
        cursor: str | None = None
        for _ in range(64):
            response = await self.forward(
                internal, server, {} if cursor is None else {"cursor": cursor}, method=method
            )
            if response.kind is not Kind.RESULT:
                return
            nxt = response.result.get("nextCursor")
            cursor = nxt if isinstance(nxt, str) else None
            items = response.result.get(LIST_KEYS[method])
            self.catalog.record_page(server, method, items if isinstance(items, list) else [], cursor is None)
            if cursor is None:
                return

    async def _uri_call(self, call: Call) -> Message:
        params = call.message.params
        server = await self.server_for_uri(params.get("uri"))
        return await self.forward(call, server, params, str(params.get("uri")))

    async def _complete(self, call: Call) -> Message:
        params = call.message.params
        ref = params.get("ref")
        if not isinstance(ref, dict):
            raise ProtocolError(methods.INVALID_PARAMS, "Missing ref")
        if ref.get("type") == "ref/prompt":
            server, name = await self._resolve_named(methods.PROMPTS_LIST, ref.get("name"))
            return await self.forward(call, server, {**params, "ref": {**ref, "name": name}}, name)
        if ref.get("type") == "ref/resource":
            server = await self.server_for_uri(ref.get("uri"))
            return await self.forward(call, server, params, str(ref.get("uri")))
        raise ProtocolError(methods.INVALID_PARAMS, "Unknown ref type")

    async def _set_level(self, call: Call) -> Message:
        targets = [
            n for n, c in self.live().items() if c.hello is not None and "logging" in c.hello.capabilities
        ]
        for name in targets:
            response = await self.forward(call, name, call.message.params)
            if response.kind is Kind.ERROR:
                return response
        return messages.result(call.client_id, {})

    async def _unknown(self, call: Call) -> Message:
        """A method Ostiary does not know: relay it when there is exactly one server to relay to."""
        live = list(self.live())
        if len(live) == 1:
            return await self.forward(call, live[0], call.message.params)
        return messages.error(
            call.client_id, methods.METHOD_NOT_FOUND, f"Method not found: {call.message.method}"
        )

    # ------------------------------------------------------------------ notifications

    async def _client_notification(self, message: Message) -> None:
        method = message.method
        if method == methods.INITIALIZED:
            self.initialized = True
            return
        if method == methods.CANCELLED:
            request_id = message.params.get("requestId")
            if isinstance(request_id, (str, int)) and not isinstance(request_id, bool):
                call = self.calls.get(id_key(request_id))
                if call is not None and call.task is not None:
                    call.task.cancel()
            return
        if method == methods.PROGRESS:
            return  # progress for a server->client request; servers never see our ask ids
        decision = await self.pipeline.run(
            Hook.CLIENT_NOTIFICATION, message, self._exchange(method, None, None)
        )
        if not decision.forwarded:
            return
        for conn in self.live().values():
            await conn.notify(method, decision.message.params if "params" in decision.message.raw else None)

    async def on_server_notification(self, conn: ServerConnection, message: Message, context: object) -> None:
        method = message.method
        call = context.call if isinstance(context, bridge.ParkedCall) else context
        call = call if isinstance(call, Call) else None
        if method == methods.PROGRESS and (call is None or call.done):
            return
        list_method = _CHANGED_LIST.get(method)
        if list_method is not None:
            self.catalog.forget(conn.name, list_method)
            if list_method != methods.RESOURCES_LIST:
                self._spawn(self.refresh(conn.name, list_method))
        exchange = self._exchange(method, conn.name, call.message if call else None)
        decision = await self.pipeline.run(Hook.SERVER_NOTIFICATION, message, exchange)
        if not decision.forwarded:
            return
        out = decision.message
        if self.era == "modern":
            if call is not None:
                await self._send(out, call.client_id)
            else:
                await self.listeners.deliver(out)
            return
        await self._send(out, call.client_id if call is not None else None)

    async def on_server_request(self, conn: ServerConnection, message: Message, context: object) -> Message:
        server_id = message.id
        if isinstance(context, bridge.ParkedCall):
            call = context.call if isinstance(context.call, Call) else None
            exchange = self._exchange(message.method, conn.name, call.message if call else None)
            decision = await self.pipeline.run(Hook.SERVER_REQUEST, message, exchange)
            if not decision.forwarded:
                return denial(server_id, decision.verdict)
            answer = await context.ask(decision.message)
            reply = await self.pipeline.run(
                Hook.CLIENT_RESPONSE, messages.result(server_id or 0, answer), exchange
            )
            return reply.message.with_id(server_id) if reply.forwarded else denial(server_id, reply.verdict)
        if self.era != "legacy":
            if message.method == methods.PING:
                return messages.result(server_id or 0, {})
            return messages.error(
                server_id, methods.METHOD_NOT_FOUND, "The client cannot be asked outside one of its requests"
            )
        asked = await self.ask_client(conn.name, message, context if isinstance(context, Call) else None)
        return asked.with_id(server_id)


def _unsupported_version(request_id: RequestId | None, requested: object) -> ProtocolError:
    data = {"supported": list(methods.ALL_VERSIONS), "requested": requested}
    return ProtocolError(
        methods.UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version", request_id, data
    )
