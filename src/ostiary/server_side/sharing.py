"""Server connections that several client sessions share (`isolation: principal | shared`).

By default each HTTP session gets its own connection to every server, so a stdio server is a
process per session. A server that keeps no per-session state (most tool servers) can instead be
shared by the sessions of one principal (`principal`) or by every session (`shared`): one process,
whatever the number of sessions. The connection's own ids keep the sessions' requests apart; what
the server sends back goes to the session whose call it belongs to, and what belongs to no call
(`list_changed`, log messages) to every session attached. A server->client request outside any
call cannot be attributed and is refused. The connection closes with its last session.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ostiary import messages, methods
from ostiary.config import ServerConfig
from ostiary.identity import Principal
from ostiary.messages import Message
from ostiary.server_side.connection import EventHandler, ServerConnection
from ostiary.transports.base import Transport

log = logging.getLogger("ostiary.sharing")

TransportFactory = Callable[[str, ServerConfig, Principal], Awaitable[Transport]]


class Attached(EventHandler, Protocol):
    """What a sharing session offers: its principal and its calls in flight."""

    principal: Principal
    calls: dict[Any, Any]


def _call_of(context: object) -> object:
    """The client request a connection context stands for (a parked call's current request)."""
    inner = getattr(context, "call", None)
    return inner if inner is not None else context


@dataclass(eq=False)
class Multiplexer:
    """The event handler of a shared connection: routes each event to its session."""

    sessions: list[Attached] = field(default_factory=list)

    def owner(self, context: object) -> Attached | None:
        if context is None:
            return None
        call = _call_of(context)
        for session in self.sessions:
            if any(c is call for c in session.calls.values()):
                return session
        principal = getattr(context, "principal", None)  # a parked call between its retries
        if isinstance(principal, str):
            return next((s for s in self.sessions if s.principal.key == principal), None)
        return None

    async def on_server_request(self, conn: ServerConnection, message: Message, context: object) -> Message:
        session = self.owner(context)
        if session is not None:
            return await session.on_server_request(conn, message, context)
        if message.method == methods.PING:
            return messages.result(message.id or 0, {})
        text = "A server shared by several sessions cannot ask a client outside one of its requests"
        return messages.error(message.id, methods.METHOD_NOT_FOUND, text)

    async def on_server_notification(self, conn: ServerConnection, message: Message, context: object) -> None:
        session = self.owner(context)
        if session is not None:
            await session.on_server_notification(conn, message, context)
            return
        if message.method == methods.PROGRESS:
            return  # progress for a call that has ended
        for each in list(self.sessions):
            await each.on_server_notification(conn, message, None)


@dataclass(eq=False)
class _Shared:
    connection: ServerConnection
    handler: Multiplexer


class SharedServers:
    """The gateway's shared connections, by server and (for `principal`) by principal."""

    def __init__(self, factory: TransportFactory) -> None:
        self._factory = factory
        self._pool: dict[tuple[str, str], _Shared] = {}

    @staticmethod
    def _key(name: str, server: ServerConfig, principal: Principal) -> tuple[str, str]:
        return (name, principal.key if server.isolation == "principal" else "")

    def attach(self, name: str, server: ServerConfig, session: Attached) -> ServerConnection:
        key = self._key(name, server, session.principal)
        shared = self._pool.get(key)
        if shared is None or shared.connection.state == "closed":
            factory, principal = self._factory, session.principal
            handler = Multiplexer()

            def make() -> Awaitable[Transport]:
                return factory(name, server, principal)

            shared = _Shared(ServerConnection(name, server, make, handler), handler)
            self._pool[key] = shared
        shared.handler.sessions.append(session)
        return shared.connection

    def is_shared(self, connection: ServerConnection) -> bool:
        return any(s.connection is connection for s in self._pool.values())

    async def detach(self, connection: ServerConnection, session: Attached) -> None:
        """The session is done with the connection; the last one out closes it."""
        for key, shared in list(self._pool.items()):
            if shared.connection is not connection:
                continue
            if session in shared.handler.sessions:
                shared.handler.sessions.remove(session)
            if not shared.handler.sessions:
                del self._pool[key]
                await connection.close()
            return
        await connection.close()

    async def close(self) -> None:
        for shared in list(self._pool.values()):
            await shared.connection.close()
        self._pool.clear()

    def __len__(self) -> int:
        return len(self._pool)
