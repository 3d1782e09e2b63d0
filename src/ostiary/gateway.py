"""The composition root: configuration in, a running gateway out.

Everything is built here and injected; no module keeps global state. Fronts (`client_side/`) ask
the gateway for sessions; sessions ask it for transports to servers.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from typing import TYPE_CHECKING, Any

from ostiary import secretref
from ostiary.approvals import approval_settings
from ostiary.config import Config, ConfigError, ServerConfig
from ostiary.identity import Principal
from ostiary.inspections import build_stages
from ostiary.pipeline import Observer, Pipeline
from ostiary.pipeline.observer import Approver
from ostiary.server_side.sharing import SharedServers
from ostiary.session import ClientChannel, ClientSession, GatewayContext
from ostiary.transports.base import Transport, TransportClosed
from ostiary.transports.stdio import ProcessTransport

if TYPE_CHECKING:
    from ostiary.store import Store

log = logging.getLogger("ostiary.gateway")

# What recording decisions needs: SQLAlchemy and the SQLite driver are most of a start-up's imports.
RECORD_MODULES = (
    "ostiary.store",
    "ostiary.audit",
    "ostiary.inventory",
    "sqlalchemy.dialects.sqlite.pysqlite",
)


def _import_record_modules() -> None:
    for name in RECORD_MODULES:
        importlib.import_module(name)


class _Unreachable:
    """A transport for a server whose configuration cannot be used now (e.g. a missing secret)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def start(self) -> None:
        raise TransportClosed(self.reason)

    async def send(self, message: object) -> None:
        raise TransportClosed(self.reason)

    async def receive(self) -> object:
        raise TransportClosed(self.reason)

    async def close(self) -> None:
        return None


class Gateway:
    def __init__(
        self,
        config: Config,
        observers: list[Observer] | None = None,
        approver: Approver | None = None,
    ) -> None:
        self.config = config
        self.pipeline = Pipeline(build_stages(config), observers, approver)
        self.approvals = approval_settings(config) if approver is None else None
        self.context = GatewayContext(
            config, self.pipeline, self.transport_for, _shared_servers(config, self)
        )
        self.sessions: dict[str, ClientSession] = {}
        self.store: Store | None = None
        # The audit log, once started: the HTTP front records refused authentications in it.
        self.audit: Any = None
        self._closers: list[Any] = []
        self._started = False
        self._broker: Any = None
        self.approval_service: Any = None
        if isinstance(config.auth.get("upstreams"), dict) and config.auth["upstreams"]:
            from ostiary.auth.upstream_credentials import build_broker  # noqa: PLC0415

            self._broker = build_broker(config)

    async def start(self) -> None:
        """Open the store, start the audit log and the inspections. Raises StoreError (fail closed)."""
        if self._started:
            return
        self._started = True
        if not self.config.inspections:
            log.warning("UNSAFE: no inspections (inspections: []); messages pass the gateway uninspected")
        if not self.config.audit.enabled:
            log.warning("UNSAFE: the audit log is off (audit.enabled: false); decisions are not recorded")
        else:
            await self._start_records()
        # Stages that also observe decisions (provenance) see each one before it is recorded.
        stages = self.pipeline.stages
        self.pipeline.observers[:0] = [s.inspection for s in stages if hasattr(s.inspection, "observe")]
        await self.pipeline.start()
        self.pipeline.release()

    async def _start_records(self) -> None:
        # Imported on a worker thread, so that meanwhile the event loop reads the host's first
        # message, answers `initialize` (which needs no record) and talks to the servers.
        await asyncio.to_thread(_import_record_modules)
        from ostiary.audit import build_audit_observer  # noqa: PLC0415  (SQLAlchemy loads only here)
        from ostiary.inventory import build_inventory_observer  # noqa: PLC0415
        from ostiary.store import open_store  # noqa: PLC0415

        self.store = store = await open_store(self.config)
        audit = build_audit_observer(store, self.config)
        inventory = build_inventory_observer(store, self.config.name)
        await audit.start()
        await inventory.start()
        # Inventory before audit: the audit record is the last word on a decision.
        self.pipeline.observers[:0] = [inventory, audit]
        self._closers = [audit, inventory]
        self.audit = audit
        if self.approvals is not None and self.approvals.enabled:
            from ostiary.approvals.service import ApprovalService  # noqa: PLC0415

            approvals = ApprovalService(self.approvals)
            policy = next((s.inspection for s in self.pipeline.stages if s.inspection.name == "policy"), None)
            await approvals.start(store, audit, policy)
            self.pipeline.approver = approvals
            self.pipeline.observers.insert(0, approvals.findings)
            self._closers.insert(0, approvals)
            self.approval_service = approvals
        for stage in self.pipeline.stages:  # one store for every inspection that keeps state
            if hasattr(stage.inspection, "store") and stage.inspection.store is None:
                stage.inspection.store = store

    async def close(self) -> None:
        for session in list(self.sessions.values()):
            await session.close()
        self.sessions.clear()
        if self.context.shared is not None:
            await self.context.shared.close()
        await self.pipeline.close()
        for closer in self._closers:
            try:
                await closer.close()
            except Exception:
                log.exception("closing %s failed", type(closer).__name__)
        if self.store is not None:
            await self.store.close()
            self.store = None

    def open_session(self, principal: Principal, channel: ClientChannel, session_id: str) -> ClientSession:
        session = ClientSession(self.context, principal, channel, session_id)
        self.sessions[session_id] = session
        return session

    async def end_session(self, session_id: str) -> None:
        session = self.sessions.pop(session_id, None)
        if session is not None:
            await session.close()

    async def transport_for(self, name: str, server: ServerConfig, principal: Principal) -> Transport:
        """A fresh transport to one server for one principal, with its credentials resolved now.

        Secrets and per-user credentials (`auth.upstreams`) go into this connection only; the
        client's own token never does. A server whose credential cannot be had is unreachable for
        this principal, with a log line that names the cause, never a value.
        """
        limit = self.config.limits.max_message_bytes
        try:
            headers, env = await self._credentials(name, server, principal)
            if server.kind == "stdio":
                assert server.command is not None
                cwd = self.config.server_cwd(name)
                command = secretref.resolve(server.command)
                args = [secretref.resolve(a) for a in server.args]
                base = cwd if cwd is not None else self.config.base_dir
                return ProcessTransport(name, command, args, env, cwd, limit, base)
            assert server.url is not None
            url = secretref.resolve(server.url)
            if server.kind == "sse":
                from ostiary.transports.sse_client import SseTransport  # noqa: PLC0415

                return SseTransport(url, headers, server.timeout, limit)
            from ostiary.transports.http_client import StreamableHttpTransport  # noqa: PLC0415

            return StreamableHttpTransport(url, headers, server.timeout, limit)
        except (secretref.SecretError, CredentialUnavailable) as exc:
            log.error("server %s: %s", name, exc)
            return _Unreachable(f"credentials: {exc}")  # type: ignore[return-value]

    async def _credentials(
        self, name: str, server: ServerConfig, principal: Principal
    ) -> tuple[dict[str, str], dict[str, str]]:
        if self._broker is None:
            headers = {k: secretref.resolve(v) for k, v in server.headers.items()}
            return headers, {k: secretref.resolve(v) for k, v in server.env.items()}
        from ostiary.auth.upstream_credentials import UpstreamCredentialError  # noqa: PLC0415

        try:
            creds = await self._broker.credentials_for(name, principal, principal.token)
        except UpstreamCredentialError as exc:
            raise CredentialUnavailable(str(exc)) from None
        return creds.headers, creds.env


def _shared_servers(config: Config, gateway: Gateway) -> SharedServers | None:
    """The pool of connections sessions share, if any server allows it. A server with per-user
    credentials (`auth.upstreams`) is never shared across principals."""
    upstreams = config.auth.get("upstreams") if isinstance(config.auth.get("upstreams"), dict) else {}
    for name, server in config.servers.items():
        if server.isolation == "shared" and name in (upstreams or {}):
            raise ConfigError(
                f"servers.{name}: isolation 'shared' would give every user one user's credentials "
                "(auth.upstreams); use 'principal'"
            )
    if all(server.isolation == "session" for server in config.servers.values()):
        return None
    return SharedServers(gateway.transport_for)


class CredentialUnavailable(Exception):
    """No credential for this server and principal; the message never holds a value."""
