"""A public test kit for inspections: build a message and an exchange, run one hook.

    verdict = await judge(MyInspection(), tool_call("fs", "delete_file", {"path": "/"}))
    assert verdict.code == "my.denied"

`connect` builds the real gateway in this event loop, with MCP servers written in Python
(`ToolServer`) on in-memory transports where processes or HTTP servers would be: the session
core's unit tests run in milliseconds. Nothing here starts a process or opens a socket; the
end-to-end tests put real hosts and servers around `ostiary run` and `ostiary serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ostiary import messages, methods
from ostiary.config import STORE_ENV, Config, ServerConfig
from ostiary.config import parse as parse_config
from ostiary.gateway import Gateway
from ostiary.identity import Principal
from ostiary.messages import JSON, Kind, Message, RequestId
from ostiary.pipeline import Exchange, Hook, Inspection, Observer, Pipeline, Stage, Verdict
from ostiary.session import ClientSession
from ostiary.transports.base import Transport, TransportClosed
from ostiary.transports.memory import Handler, MemoryTransport, serve

ALICE = Principal("alice", frozenset({"engineering"}), method="test")


def exchange(
    method: str,
    server: str | None = "test",
    target: str | None = None,
    principal: Principal = ALICE,
    definition: JSON | None = None,
) -> Exchange:
    return Exchange(principal, "test-session", method, server, target, definition)


def tool_call(
    server: str, tool: str, arguments: JSON | None = None, principal: Principal = ALICE
) -> tuple[Message, Exchange]:
    message = messages.request(1, methods.TOOLS_CALL, {"name": tool, "arguments": arguments or {}})
    return message, exchange(methods.TOOLS_CALL, server, tool, principal)


def tool_result(server: str, tool: str, text: str, structured: Any = None) -> tuple[Message, Exchange]:
    result: JSON = {"content": [{"type": "text", "text": text}]}
    if structured is not None:
        result["structuredContent"] = structured
    return messages.result(1, result), exchange(methods.TOOLS_CALL, server, tool)


def tools_list(server: str, tools: list[JSON]) -> tuple[Message, Exchange]:
    return messages.result(1, {"tools": tools}), exchange(methods.TOOLS_LIST, server)


async def judge(inspection: Inspection, case: tuple[Message, Exchange], hook: Hook | None = None) -> Verdict:
    """Run one hook of one inspection exactly as the pipeline would, including its failure handling."""
    message, ex = case
    if hook is None:
        hook = Hook.CLIENT_REQUEST if message.is_request else Hook.SERVER_RESPONSE
    decision = await Pipeline([Stage(inspection)]).run(hook, message, ex)
    return decision.verdicts[-1] if decision.verdicts else decision.verdict


# ---------------------------------------------------------------- a gateway in one event loop


class Client:
    """A host talking to an in-process gateway session: requests, answers to server requests.

    Server->client requests are answered by `on_request` (the default refuses them, as a client
    without the capability would); notifications are kept in `notifications`.
    """

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.session: ClientSession | None = None
        self.notifications: list[Message] = []
        self.asked: list[Message] = []
        self.on_request: Callable[[Message], Awaitable[JSON]] | None = None
        self._waiting: dict[RequestId, list[asyncio.Future[Message]]] = {}
        self._next_id = 1
        self._tasks: set[asyncio.Task[None]] = set()
        self.timeout = 5.0

    async def send(self, message: Message, related: RequestId | None) -> None:
        """The session's channel to this client."""
        if message.kind is Kind.REQUEST:
            self.asked.append(message)
            task = asyncio.create_task(self._answer(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        if message.kind is Kind.NOTIFICATION:
            self.notifications.append(message)
            return
        waiters = self._waiting.get(message.id, []) if message.id is not None else []
        if waiters:
            waiter = waiters.pop(0)  # two requests under one id: answered in the order sent
            if not waiter.done():
                waiter.set_result(message)

    async def _answer(self, request: Message) -> None:
        assert request.id is not None and self.session is not None
        if self.on_request is None:
            reply = messages.error(request.id, methods.METHOD_NOT_FOUND, "Not supported by this client")
        else:
            reply = messages.result(request.id, await self.on_request(request))
        await self.session.receive(reply)

    def start(
        self, method: str, params: JSON | None = None, request_id: RequestId | None = None
    ) -> Awaitable[Message]:
        """Send a request; the returned future gets its response."""
        assert self.session is not None
        if request_id is None:
            request_id = self._next_id
            self._next_id += 1
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(request_id, []).append(future)
        sending = asyncio.ensure_future(self.session.receive(messages.request(request_id, method, params)))
        self._tasks.add(sending)
        sending.add_done_callback(self._tasks.discard)
        return future

    async def request(
        self, method: str, params: JSON | None = None, request_id: RequestId | None = None
    ) -> Message:
        """Send a request and wait for its response; no response within `timeout` is a failure."""
        return await asyncio.wait_for(self.start(method, params, request_id), self.timeout)

    async def notify(self, method: str, params: JSON | None = None) -> None:
        assert self.session is not None
        await self.session.receive(messages.notification(method, params))

    async def initialize(
        self, version: str = methods.LATEST_HANDSHAKE, capabilities: JSON | None = None
    ) -> Message:
        """A 2025-era handshake: `initialize`, then `notifications/initialized`."""
        params = {"protocolVersion": version, "capabilities": capabilities or {}, "clientInfo": CLIENT_INFO}
        response = await self.request(methods.INITIALIZE, params)
        await self.notify(methods.INITIALIZED)
        return response

    @staticmethod
    def modern(params: JSON | None = None, capabilities: JSON | None = None) -> JSON:
        """`params` with the 2026-07-28 `_meta` envelope a stateless request carries."""
        meta = {
            methods.META_PROTOCOL_VERSION: methods.LATEST_MODERN,
            methods.META_CLIENT_CAPABILITIES: capabilities or {},
            methods.META_CLIENT_INFO: CLIENT_INFO,
        }
        return {**(params or {}), "_meta": {**(params or {}).get("_meta", {}), **meta}}


CLIENT_INFO: JSON = {"name": "ostiary-testing", "version": "1"}


def build_config(
    config: Config | str | JSON, servers: Iterable[str] = (), scratch: str | None = None
) -> Config:
    """A configuration from YAML text or a mapping, with a stdio entry for each in-memory server
    the configuration does not name (its command is never run). With `scratch`, a configuration
    that names no store (and no OSTIARY_STORE) gets a SQLite store in that directory rather than
    the user's own."""
    if isinstance(config, Config):
        missing = [name for name in servers if name not in config.servers]
        if missing:
            raise ValueError(f"servers not in the configuration: {', '.join(missing)}")
        return config
    data: JSON = dict(yaml.safe_load(config) or {}) if isinstance(config, str) else dict(config)
    entries = dict(data.get("servers") or {})
    for name in servers:
        entries.setdefault(name, {"command": f"memory:{name}"})
    data["servers"] = entries
    if scratch is not None and not data.get("store") and not os.environ.get(STORE_ENV):
        data["store"] = f"sqlite+aiosqlite:///{Path(scratch, 'ostiary.db')}"
    return parse_config(yaml.safe_dump(data))


@contextlib.asynccontextmanager
async def gateway(
    config: Config | str | JSON,
    servers: Mapping[str, Handler],
    observers: list[Observer] | None = None,
) -> AsyncIterator[Gateway]:
    """A started gateway whose servers named in `servers` are in-memory handlers.

    The gateway is the one `ostiary run` builds: the configured inspections, and the audit log
    unless the configuration turns it off. A configuration given as text or a mapping without a
    store gets one in a scratch directory, removed afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="ostiary-testing-") as scratch:
        async with _started(build_config(config, servers, scratch), servers, observers) as built:
            yield built


@contextlib.asynccontextmanager
async def _started(
    config: Config, servers: Mapping[str, Handler], observers: list[Observer] | None
) -> AsyncIterator[Gateway]:
    built = Gateway(config, observers)
    fallback = built.transport_for

    async def transport_for(name: str, server: ServerConfig, principal: Principal) -> Transport:
        handler = servers.get(name)
        if handler is None:
            return await fallback(name, server, principal)
        return serve(name, handler)

    built.context.transport_factory = transport_for
    try:
        await built.start()
        yield built
    finally:
        await built.close()


@contextlib.asynccontextmanager
async def connect(
    config: Config | str | JSON,
    servers: Mapping[str, Handler],
    principal: Principal = ALICE,
    observers: list[Observer] | None = None,
) -> AsyncIterator[Client]:
    """One client session on an in-process gateway; see `gateway`.

    async with connect({"audit": {"enabled": False}}, servers={"echo": echo}) as client:
        await client.initialize()
        response = await client.request("tools/call", {"name": "echo__say", "arguments": {}})
    """
    async with gateway(config, servers, observers) as built:
        client = Client(built)
        client.session = built.open_session(principal, client, "test-session")
        try:
            yield client
        finally:
            for task in list(client._tasks):
                task.cancel()
            await built.end_session("test-session")


# ---------------------------------------------------------------- an MCP server in one event loop

ToolFn = Callable[[JSON, "ServerRun"], Awaitable[JSON]]


class Crash(Exception):
    """Raised by a tool to make its server exit, as a crashing process would."""


class ToolServer:
    """A small MCP server for `connect`: tools as Python functions, in one era.

    It answers the handshake of its era (`initialize`, or `server/discover` for "modern") and
    refuses the other's, lists and calls its tools, answers `ping`, and honours
    `notifications/cancelled`. Each start is a fresh run (`runs`), as a restarted process is.
    """

    def __init__(self, tools: Mapping[str, ToolFn], era: str = "legacy", name: str = "toy") -> None:
        self.tools = dict(tools)
        self.era = era
        self.name = name
        self.runs: list[ServerRun] = []

    async def __call__(self, transport: MemoryTransport) -> None:
        run = ServerRun(self, transport)
        self.runs.append(run)
        await run.serve()

    @property
    def received(self) -> list[Message]:
        return [m for run in self.runs for m in run.received]


class ServerRun:
    """One run of a `ToolServer`: what it received, and a way to ask its client something."""

    def __init__(self, server: ToolServer, transport: MemoryTransport) -> None:
        self.server = server
        self.transport = transport
        self.received: list[Message] = []
        self.cancelled: list[RequestId] = []
        self._calls: dict[RequestId, asyncio.Task[None]] = {}
        self._asks: dict[RequestId, asyncio.Future[Message]] = {}
        self._next_ask = 1
        self._crash: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def serve(self) -> None:
        reader = asyncio.create_task(self._read())
        try:
            await asyncio.wait({reader, self._crash}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            reader.cancel()
            for task in self._calls.values():
                task.cancel()
        if self._crash.done():
            self._crash.result()

    async def ask(self, method: str, params: JSON | None = None) -> Message:
        """A server->client request made while serving a call; returns the client's answer."""
        ask_id = f"ask-{self._next_ask}"
        self._next_ask += 1
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._asks[ask_id] = future
        await self.transport.send(messages.request(ask_id, method, params))
        return await future

    async def notify(self, method: str, params: JSON | None = None) -> None:
        await self.transport.send(messages.notification(method, params))

    async def _read(self) -> None:
        with contextlib.suppress(TransportClosed):
            while True:
                message = await self.transport.receive()
                self.received.append(message)
                if message.kind is Kind.REQUEST:
                    assert message.id is not None
                    self._calls[message.id] = asyncio.create_task(self._handle(message))
                elif message.kind is Kind.NOTIFICATION:
                    target = message.params.get("requestId")
                    if message.method == methods.CANCELLED and isinstance(target, (str, int)):
                        task = self._calls.get(target)
                        if task is not None:
                            self.cancelled.append(target)
                            task.cancel()
                elif message.id is not None and message.id in self._asks:
                    self._asks.pop(message.id).set_result(message)

    async def _handle(self, message: Message) -> None:
        assert message.id is not None
        try:
            reply = await self._answer(message)
        except asyncio.CancelledError:
            return
        except Crash as exc:
            if not self._crash.done():
                self._crash.set_exception(exc)
            return
        finally:
            self._calls.pop(message.id, None)
        with contextlib.suppress(TransportClosed):
            await self.transport.send(reply)

    async def _answer(self, message: Message) -> Message:
        method, request_id, era = message.method, message.id, self.server.era
        assert request_id is not None
        if method == methods.PING:
            return messages.result(request_id, {})
        if method == methods.INITIALIZE and era == "legacy":
            asked = message.params.get("protocolVersion")
            version = asked if asked in methods.HANDSHAKE_VERSIONS else methods.LATEST_HANDSHAKE
            info = {"name": self.server.name, "version": "1"}
            return messages.result(
                request_id, {"protocolVersion": version, "capabilities": CAPABILITIES, "serverInfo": info}
            )
        if method == methods.DISCOVER and era == "modern":
            info = {"name": self.server.name, "version": "1"}
            result = {"supportedVersions": list(methods.MODERN_VERSIONS), "capabilities": CAPABILITIES}
            return messages.result(request_id, {**result, "_meta": {methods.META_SERVER_INFO: info}})
        if method == methods.TOOLS_LIST:
            tools = [{"name": n, "inputSchema": {"type": "object"}} for n in self.server.tools]
            return messages.result(request_id, {"tools": tools})
        if method == methods.TOOLS_CALL:
            tool = self.server.tools.get(str(message.params.get("name")))
            if tool is None:
                return messages.error(request_id, methods.INVALID_PARAMS, "Unknown tool")
            return messages.result(request_id, await tool(message.params, self))
        return messages.error(request_id, methods.METHOD_NOT_FOUND, f"Method not found: {method}")


CAPABILITIES: JSON = {"tools": {"listChanged": True}}


def text(value: str) -> JSON:
    """A tool result with one text block."""
    return {"content": [{"type": "text", "text": value}]}
