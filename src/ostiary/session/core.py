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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ostiary import __version__, denials, messages, methods, notices
from ostiary.config import Config, ServerConfig
from ostiary.identity import Principal
from ostiary.messages import JSON, Kind, Message, ProtocolError, RequestId, id_key
from ostiary.pipeline import Decision, Exchange, Hook, Pipeline, Verdict, deny
from ostiary.server_side.connection import ServerConnection, ServerTimeout, ServerUnavailable
from ostiary.server_side.hello import ClientHello, Era, strip_unrelayable_capabilities
from ostiary.server_side.sharing import SharedServers
from ostiary.session import bridge
from ostiary.session.call import Call
from ostiary.session.catalog import LIST_KEYS, Catalog
from ostiary.session.flood import FloodGuard, Refusal
from ostiary.session.routing import NAMED_CALLS, URI_CALLS, Router
from ostiary.session.subscriptions import Listeners
from ostiary.transports.base import Transport

log = logging.getLogger("ostiary.session")

EARLY_NOTIFICATIONS = 100  # held for a 2025-era client until its handshake is complete
PROGRESS_RECORD_EVERY = 100  # progress of one call is coalesced in the audit log: the first, then 1 in N
MALFORMED_METHOD = "gateway.malformed_method"
REQUEST_AS_NOTIFICATION = "gateway.request_as_notification"
NOT_ENABLED = "gateway.capability_not_enabled"
# The client capability a server->client request needs.
_NEEDS = {
    methods.SAMPLING_CREATE: "sampling",
    methods.ELICITATION_CREATE: "elicitation",
    methods.ROOTS_LIST: "roots",
}

TransportFactory = Callable[[str, ServerConfig, Principal], Awaitable[Transport]]
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
    # Connections sessions share (servers with `isolation: principal | shared`); None: none are.
    shared: SharedServers | None = None


def _releaser(lock: asyncio.Lock) -> Callable[[asyncio.Task[Message]], None]:
    def release(_task: asyncio.Task[Message]) -> None:
        lock.release()

    return release


def own_answer(request_id: RequestId | None, verdict: Verdict) -> Message | None:
    """The answer a refusing verdict carries itself, if any: the gateway's result in the server's
    stead (an approval's question), or a tool result a stage wrote for the model (isError: true)."""
    if verdict.replacement is not None and verdict.replacement.kind is Kind.RESULT:
        return verdict.replacement.with_id(request_id if request_id is not None else 0)
    tool_result = verdict.details.get("tool_result")
    if request_id is not None and isinstance(tool_result, dict):
        return messages.result(request_id, tool_result)
    return None


def denial(request_id: RequestId | None, verdict: Verdict) -> Message:
    answer = own_answer(request_id, verdict)
    if answer is not None:
        return answer
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
        # Servers that could not be started or reached, and why: told to the client, not only logged.
        self.unavailable: dict[str, str] = {}
        self.catalog = Catalog({n: ctx.config.prefix_of(n) for n in ctx.config.servers})
        self.calls: dict[tuple[bool, RequestId], Call] = {}
        self.parking = bridge.Parking(
            ttl=max((s.max_timeout for s in ctx.config.servers.values()), default=600)
        )
        self.listeners = Listeners(self)
        self.router = Router(self, self.catalog)
        self._asks: dict[int, asyncio.Future[Message]] = {}
        self._asking_turns: dict[str, asyncio.Lock] = {}
        self._early: list[Message] = []
        self._next_ask = 1
        self._opening: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.flood = FloodGuard(ctx.config.limits)
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
        shared = self.ctx.shared
        closing = [
            shared.detach(c, self) if shared is not None and shared.is_shared(c) else c.close()
            for c in self.connections.values()
        ]
        await asyncio.gather(*closing, return_exceptions=True)

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
        if methods.look_alike(method) is not None:
            await self._refuse(Hook.CLIENT_REQUEST, message, None, MALFORMED_METHOD, "Malformed method name.")
            raise ProtocolError(
                methods.INVALID_REQUEST,
                "Malformed method name: it differs from a known method only by case or whitespace",
            )
        if method == methods.INITIALIZE:
            return await self._initialize(message)
        call.era = self._request_era(message)
        if method == methods.PING:
            return messages.result(call.client_id, {} if call.era == "legacy" else {"resultType": "complete"})
        await self._open_servers()
        if method == methods.DISCOVER:
            response = messages.result(call.client_id, self._discover_result())
        elif method in LIST_KEYS:
            response = notices.with_unavailable(await self.router.list(call), self._missing())
        elif method in NAMED_CALLS:
            response = await self.router.named_call(call)
        elif method in URI_CALLS:
            response = await self.router.uri_call(call)
        elif method == methods.COMPLETE:
            response = await self.router.complete(call)
        elif method == methods.LOGGING_SET_LEVEL:
            response = await self.router.set_level(call)
        elif method == methods.SUBSCRIPTIONS_LISTEN:
            response = await self.listeners.listen(call)
        else:
            response = await self.router.unknown(call)
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
        problem = envelope_problem(message)
        if problem is not None:
            raise problem
        capabilities = meta[methods.META_CLIENT_CAPABILITIES]
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
        if self.era == "legacy":
            return messages.error(message.id, methods.INVALID_REQUEST, "The session is already initialized")
        # A client that probed with server/discover and gave up (slow servers) falls back to the
        # handshake: the session follows it. Servers already opened keep working, bridged if need be.
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
                if server.isolation != "session" and self.ctx.shared is not None:
                    self.connections[name] = self.ctx.shared.attach(name, server, self)
                    continue
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

    def _transport_maker(self, name: str, server: ServerConfig) -> Callable[[], Awaitable[Transport]]:
        factory, principal = self.ctx.transport_factory, self.principal
        return lambda: factory(name, server, principal)

    async def _open_one(self, conn: ServerConnection) -> None:
        assert self.hello is not None
        try:
            hello = await conn.open(self.hello)
        except ServerUnavailable as exc:
            log.warning("server %s is unavailable: %s", conn.name, exc)
            self.unavailable[conn.name] = str(exc)
            await self._tell_client(notices.server_unavailable(conn.name, str(exc)))
            return
        self.unavailable.pop(conn.name, None)
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

    def offering(self, capability: str) -> list[str]:
        """The live servers that declared a capability, in configuration order."""
        return [
            n for n, c in self.live().items() if c.hello is not None and capability in c.hello.capabilities
        ]

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
        return {"name": self.config.display_name, "version": __version__}

    def _instructions(self) -> str | None:
        parts = [
            (n, c.hello.instructions)
            for n, c in self.live().items()
            if c.hello is not None and c.hello.instructions
        ]
        missing = notices.unavailable_text(self._missing())
        if not parts:
            return missing
        if len(self.config.servers) == 1:
            return parts[0][1]
        text = "\n\n".join(f"## {name}\n{text}" for name, text in parts)
        return f"{text}\n\n{missing}" if missing else text

    def _missing(self) -> dict[str, str]:
        """The servers that could not be opened and are still not up, with the reason."""
        return {
            name: reason
            for name, reason in self.unavailable.items()
            if name not in self.connections or self.connections[name].state != "up"
        }

    async def _tell_client(self, message: Message) -> None:
        """A gateway notice to this session's client, held like a server's until its handshake."""
        if self.era == "modern":
            return  # a stateless client has no channel outside its requests; lists carry the notice
        if not self.initialized:
            if len(self._early) < EARLY_NOTIFICATIONS:
                self._early.append(message)
            return
        await self._send(message, None)

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
            conversation=self,
            tools=self.catalog.tools.names(),
        )

    async def _refuse(
        self,
        hook: Hook,
        message: Message,
        server: str | None,
        code: str,
        reason: str,
        call: Call | None = None,
    ) -> Verdict:
        """Record a message the gateway refuses on its own (its shape, a flood, a capability)."""
        verdict = deny(code, reason)
        request = call.message if call is not None else None
        await self.pipeline.refuse(hook, message, self._exchange(message.method, server, request), verdict)
        return verdict

    async def judge(self, call: Call, server: str, method: str, params: JSON, target: str | None) -> bool:
        """Whether the pipeline lets this client request through, without sending it anywhere:
        for what the gateway sends on the client's behalf (the subscriptions of a listen)."""
        exchange = self._exchange(method, server, call.message, target)
        decision = await self.pipeline.run(
            Hook.CLIENT_REQUEST, messages.request(call.client_id, method, params), exchange
        )
        return decision.forwarded

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
        outgoing = messages.request(call.client_id, method, params)
        decision = await self.pipeline.run(Hook.CLIENT_REQUEST, outgoing, exchange)
        if not decision.forwarded:
            return self._refusal(call, method, decision.verdict)
        parked: bridge.ParkedCall | None = None
        if conn is None or server in self.excluded:
            response = messages.error(None, methods.UPSTREAM_UNAVAILABLE, f"Server {server} is unavailable")
        else:
            response, parked = await self._exchange_with(conn, call, method, decision.message.params)
        try:
            final: Decision = await self.pipeline.run(Hook.SERVER_RESPONSE, response, exchange)
        except BaseException:
            if parked is not None:
                self.parking.drop(parked)
            raise
        if not final.forwarded:
            if parked is not None:
                self.parking.drop(parked)
            return self._refusal(call, method, final.verdict)
        out = final.message.with_id(call.client_id)
        # A parked call's requestState is the gateway's own: added after the judging, never judged.
        return out if parked is None else self.parking.hand_over(parked, out)

    def _refusal(self, call: Call, method: str, verdict: Verdict) -> Message:
        """A refused tool call is a tool result the model can read, unless `denials: error`; a
        verdict that carries its own answer (an approval's question, a stage's tool result) keeps it."""
        answer = own_answer(call.client_id, verdict)
        if answer is not None:
            return answer
        if method == methods.TOOLS_CALL and self.config.denials == "tool-result":
            name = call.message.params.get("name")
            return denials.as_tool_result(call.client_id, verdict, name if isinstance(name, str) else None)
        return denial(call.client_id, verdict)

    async def _exchange_with(
        self, conn: ServerConnection, call: Call, method: str, params: JSON
    ) -> tuple[Message, bridge.ParkedCall | None]:
        """The server's response, and the parked call it asks the client for, if it does."""
        try:
            if method in methods.MRTR_METHODS and call.era == "modern" and conn.era == "legacy":
                return await self._park_for_modern_client(conn, call, method, params)
            response = await conn.request(method, params, call)
            if method in methods.MRTR_METHODS and call.era == "legacy" and conn.era == "modern":
                response = await self._answer_for_legacy_client(conn, call, method, params, response)
            return response, None
        except ServerUnavailable as exc:
            log.warning("server %s: %s failed: %s", conn.name, method, exc)
            error = messages.error(None, methods.UPSTREAM_UNAVAILABLE, f"Server {conn.name} is unavailable")
            return error, None
        except ServerTimeout:
            text = f"Server {conn.name} did not answer in time"
            return messages.error(None, methods.UPSTREAM_TIMEOUT, text), None

    async def _park_for_modern_client(
        self, conn: ServerConnection, call: Call, method: str, params: JSON
    ) -> tuple[Message, bridge.ParkedCall | None]:
        state = params.get("requestState")
        if state is not None:
            parked = self.parking.take(state, self.principal.key)
            if parked is None:
                # Only Ostiary gives out the states that resume a 2025-era server's calls: one it
                # does not know (expired, used, or never given) resumes nothing, and is refused.
                # Run as a new call it would repeat the tool and, where calls take turns, wait
                # behind the very call it was meant to resume.
                error = messages.error(None, methods.INVALID_PARAMS, "Unknown or expired requestState")
                return error, None
            parked.answer(params.get("inputResponses"))
        else:
            # stdio and HTTP+SSE cannot say which call a server->client request belongs to: calls
            # that may ask take turns on such a connection, so every question reaches its own call.
            turn = None
            if conn.config.kind != "streamable-http":
                turn = self._asking_turns.setdefault(conn.name, asyncio.Lock())
                await turn.acquire()
            parked = bridge.ParkedCall(self.principal.key)
            parked.task = asyncio.create_task(
                conn.request(method, bridge.without_retry_fields(params), parked)
            )
            if turn is not None:
                parked.task.add_done_callback(_releaser(turn))
        parked.call = call
        outcome = await self.parking.next_outcome(parked)
        if isinstance(outcome, Message):
            return outcome, None
        return messages.result(call.client_id, outcome), parked

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

    async def _server_request_refused(
        self, server: str, request: Message, call: Call | None
    ) -> Verdict | None:
        """One too many server->client requests, or one the client did not enable: refused and
        recorded (a flood once, so that it cannot fill the audit log either)."""
        refusal = self.flood.request(call)
        if refusal is not None:
            return await self._flooded(Hook.SERVER_REQUEST, request, server, call, refusal)
        needed = _NEEDS.get(request.method)
        capabilities = self.hello.capabilities if self.hello is not None else {}
        if needed is not None and needed not in capabilities:
            reason = f"The client did not enable {needed}."
            return await self._refuse(Hook.SERVER_REQUEST, request, server, NOT_ENABLED, reason, call)
        return None

    async def _flooded(
        self, hook: Hook, message: Message, server: str, call: Call | None, refusal: Refusal
    ) -> Verdict:
        if refusal.first:
            log.warning("server %s: %s", server, refusal.reason)
            return await self._refuse(hook, message, server, refusal.code, refusal.reason, call)
        return deny(refusal.code, refusal.reason)

    async def ask_client(self, server: str, request: Message, call: Call | None) -> Message:
        """Relay a server->client request to this session's client and return its answer."""
        refused = await self._server_request_refused(server, request, call)
        if refused is not None:
            return denial(None, refused)
        exchange = self._exchange(request.method, server, call.message if call else None)
        decision = await self.pipeline.run(Hook.SERVER_REQUEST, request, exchange)
        if not decision.forwarded:
            return denial(None, decision.verdict)
        limit = self.config.servers[server].max_timeout if server in self.config.servers else 600.0
        reply = await self.ask_own(decision.message, call.client_id if call else None, limit)
        if reply.kind is Kind.ERROR and reply.id is None:
            return reply
        answered = await self.pipeline.run(Hook.CLIENT_RESPONSE, reply, exchange)
        if not answered.forwarded:
            return denial(None, answered.verdict)
        return answered.message

    async def ask_own(self, request: Message, related: RequestId | None, limit: float) -> Message:
        """Send the client a request under an id of the gateway's own and await its answer."""
        ask_id = self._next_ask
        self._next_ask += 1
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._asks[ask_id] = future
        try:
            await self._send(request.with_id(ask_id), related)
            async with asyncio.timeout(limit):
                return await future
        except TimeoutError:
            return messages.error(None, methods.INTERNAL_ERROR, "The client did not answer in time")
        finally:
            self._asks.pop(ask_id, None)

    def client_capabilities(self) -> JSON:
        return self.hello.capabilities if self.hello is not None else {}

    async def tell(self, message: Message, related: RequestId | None) -> None:
        await self._send(message, related)

    # ------------------------------------------------------------------ notifications

    async def _client_notification(self, message: Message) -> None:
        method = message.method
        if not methods.is_notification_name(method) or methods.look_alike(method) is not None:
            # A JSON-RPC server runs a notification's method: a `tools/call` without an id would
            # reach it unjudged. What is not a notification by name is never relayed as one.
            malformed = methods.look_alike(method) is not None
            code = MALFORMED_METHOD if malformed else REQUEST_AS_NOTIFICATION
            reason = "Malformed method name." if malformed else "A request was sent as a notification."
            log.warning("session %s: %s; dropped", self.session_id, reason)
            await self._refuse(Hook.CLIENT_NOTIFICATION, message, None, code, reason)
            return
        if method == methods.INITIALIZED:
            self.initialized = True
            early, self._early = self._early, []
            for held in early:
                await self._send(held, None)
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
        refusal = self.flood.notification(call)
        if refusal is not None:
            await self._flooded(Hook.SERVER_NOTIFICATION, message, conn.name, call, refusal)
            return
        list_method = _CHANGED_LIST.get(method)
        if list_method is not None:
            self.catalog.forget(conn.name, list_method)
            if list_method != methods.RESOURCES_LIST:
                self._spawn(self.router.refresh(conn.name, list_method))
        exchange = self._exchange(method, conn.name, call.message if call else None)
        record = True
        if method == methods.PROGRESS and call is not None:
            call.progressed += 1
            record = call.progressed % PROGRESS_RECORD_EVERY == 1
        decision = await self.pipeline.run(Hook.SERVER_NOTIFICATION, message, exchange, record)
        if not decision.forwarded:
            return
        out = decision.message
        if self.era != "modern" and not self.initialized:
            # A 2025-era client hears nothing before it has finished its handshake; what servers
            # say meanwhile (often list_changed right after their own handshake) waits for it.
            if len(self._early) < EARLY_NOTIFICATIONS:
                self._early.append(out)
            return
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
            refused = await self._server_request_refused(conn.name, message, call)
            if refused is not None:
                return denial(server_id, refused)
            exchange = self._exchange(message.method, conn.name, call.message if call else None)
            decision = await self.pipeline.run(Hook.SERVER_REQUEST, message, exchange)
            if not decision.forwarded:
                return denial(server_id, decision.verdict)
            answer = await context.ask(decision.message)
            if answer is None:
                # The call it was attributed to is over or abandoned: nobody will answer it.
                return messages.error(
                    server_id, methods.INTERNAL_ERROR, "The client request this belonged to has ended"
                )
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


def envelope_problem(message: Message) -> ProtocolError | None:
    """What is wrong with a 2026-07-28 request's `_meta` envelope, if anything."""
    meta = message.params.get("_meta")
    version = meta.get(methods.META_PROTOCOL_VERSION) if isinstance(meta, dict) else None
    if not isinstance(meta, dict) or version is None:
        text = f"Missing _meta[{methods.META_PROTOCOL_VERSION!r}]"
        return ProtocolError(methods.INVALID_PARAMS, text, message.id)
    if version not in methods.MODERN_VERSIONS:
        return _unsupported_version(message.id, version)
    if not isinstance(meta.get(methods.META_CLIENT_CAPABILITIES), dict):
        text = f"Missing _meta[{methods.META_CLIENT_CAPABILITIES!r}]"
        return ProtocolError(methods.INVALID_PARAMS, text, message.id)
    if message.method in methods.REMOVED_IN_MODERN:
        return ProtocolError(methods.METHOD_NOT_FOUND, f"Method not found: {message.method}", message.id)
    return None


def _unsupported_version(request_id: RequestId | None, requested: object) -> ProtocolError:
    # The versions a stateless request may name: what server/discover advertises.
    data = {"supported": list(methods.MODERN_VERSIONS), "requested": requested}
    return ProtocolError(
        methods.UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version", request_id, data
    )
