"""Who talks to whom in the transport matrix: a leg is one way for a client to reach a real server,
either directly or through Ostiary, and a Topology starts and connects the processes behind each leg.

The point of the matrix is that one check body runs on every leg, so "what works directly works
through Ostiary" is what the suite literally asserts.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

import pytest
import yaml
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import get_default_environment, stdio_client

from conftest import free_loopback_port, stop_process_group, wait_for_port

from .checks import HostCallbacks
from .held import HeldClient

Era = Literal["legacy", "modern"]
UpstreamEra = Literal["auto", "legacy", "modern"]
Wire = Literal["stdio", "http"]
# How Ostiary (or a direct client) reaches the server: also legacy HTTP+SSE (2024-11-05 transport).
Back = Literal["stdio", "http", "sse"]

# The Python SDK's `mode=` for each client era.
CLIENT_MODE: Mapping[Era, str] = {"legacy": "legacy", "modern": "2026-07-28"}
# A bound on every single request, so a lost answer fails the test instead of hanging it.
READ_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class Leg:
    """One route from a client to a server: directly, or through Ostiary with a front and back wire."""

    gateway: bool
    front: Wire
    back: Back
    client_era: Era
    # The era Ostiary is told to speak to the server (`era:` in its config); direct legs ignore it.
    upstream_era: UpstreamEra = "auto"

    @property
    def id(self) -> str:
        if not self.gateway:
            return f"direct-{self.back}-{self.client_era}"
        name = f"ostiary-{self.front}-to-{self.back}-{self.client_era}"
        return name if self.upstream_era == "auto" else f"{name}-over-{self.upstream_era}"

    @property
    def mode(self) -> str:
        return CLIENT_MODE[self.client_era]


def direct(wire: Back, client_era: Era = "legacy") -> Leg:
    """A client talking to the server itself; an "sse" leg is an SDK client on legacy HTTP+SSE."""
    front: Wire = "stdio" if wire == "stdio" else "http"
    return Leg(gateway=False, front=front, back=wire, client_era=client_era)


def through(front: Wire, back: Back, client_era: Era, upstream_era: UpstreamEra = "auto") -> Leg:
    return Leg(gateway=True, front=front, back=back, client_era=client_era, upstream_era=upstream_era)


ERAS: tuple[Era, ...] = ("legacy", "modern")
WIRES: tuple[Wire, ...] = ("stdio", "http")

# server-everything speaks 2025-11-25 on stdio, Streamable HTTP and legacy HTTP+SSE: every direct
# wire, all four gateway routes with both client eras (a 2026-07-28 client cannot talk to it
# directly), and two routes to its HTTP+SSE endpoint.
EVERYTHING_LEGS: tuple[Leg, ...] = (
    direct("stdio"),
    direct("http"),
    direct("sse"),
    *(through(front, back, era) for front in WIRES for back in WIRES for era in ERAS),
    through("stdio", "sse", "modern"),
    through("http", "sse", "legacy"),
)
# filesystem and memory: 2025-11-25 over stdio only.
LEGACY_STDIO_LEGS: tuple[Leg, ...] = (
    direct("stdio"),
    *(through(front, "stdio", era) for front in WIRES for era in ERAS),
)
# mcp-server-time and -git are dual-era: both client eras directly, and every pairing of client era
# and forced upstream era through Ostiary.
DUAL_ERA_LEGS: tuple[Leg, ...] = (
    *(direct("stdio", era) for era in ERAS),
    *(through(front, "stdio", era, up) for front in WIRES for era in ERAS for up in ERAS),
)


@dataclass(frozen=True)
class Server:
    """A real MCP server as a stdio command; `http_args`/`sse_args` start it on HTTP instead."""

    name: str
    command: str
    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    http_args: tuple[str, ...] | None = None
    sse_args: tuple[str, ...] | None = None
    # False for servers that let the host's roots replace their own configuration (server-filesystem).
    host_roots: bool = True

    def host_options(self, host: HostCallbacks) -> dict[str, Any]:
        options = host.options()
        if not self.host_roots:
            del options["list_roots_callback"]
        return options

    def stdio_entry(self, upstream_era: UpstreamEra, prefix: str | None = "") -> dict[str, Any]:
        """The server's entry in an Ostiary config; prefix None keeps Ostiary's `<server>__` names."""
        entry: dict[str, Any] = {"command": self.command, "args": list(self.args)}
        if prefix is not None:
            entry["prefix"] = prefix
        if self.env:
            entry["env"] = dict(self.env)
        if upstream_era != "auto":
            entry["era"] = upstream_era
        return entry


def node_binary() -> str:
    found = shutil.which("node")
    if found is None:
        raise RuntimeError("node is not on PATH; the reference MCP servers need it")
    return found


class Topology:
    """Starts the long-lived processes of a test module and hands out connected SDK clients per leg.

    Long-lived processes (HTTP servers, `ostiary serve`) are started up front by `start()`, before
    any test runs, so the suite's per-test leak check sees only what a test itself left behind.
    """

    def __init__(self, workdir: Path, ostiary: list[str], preload: Path) -> None:
        self.workdir = workdir
        self.ostiary = ostiary
        self.preload = preload
        self.stderr_path = workdir / "stderr.log"
        self._stderr: TextIO = self.stderr_path.open("a", encoding="utf-8")
        self._procs: list[subprocess.Popen[bytes]] = []
        self._upstream_urls: dict[tuple[str, Back], str] = {}
        self._gateway_urls: dict[tuple[str, ...], str] = {}
        self._config_ids = itertools.count(1)
        self._lock = threading.Lock()
        self._held: dict[tuple[str, Leg], HeldClient] = {}
        self._broken: dict[tuple[str, Leg], str] = {}

    # -- processes -------------------------------------------------------------------------------

    def _spawn(self, args: list[str], env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._stderr,
            stderr=self._stderr,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        self._procs.append(proc)
        return proc

    def start_http_upstream(self, server: Server, wire: Back, port: int) -> str:
        """Runs `server` on Streamable HTTP (`/mcp`) or HTTP+SSE (`/sse`) at 127.0.0.1:port, with
        Node listeners forced onto loopback."""
        args, path = (server.http_args, "/mcp") if wire == "http" else (server.sse_args, "/sse")
        if args is None:
            raise ValueError(f"{server.name} has no {wire} mode")
        env = {**server.env, "PORT": str(port), "NODE_OPTIONS": f"--require={self.preload}"}
        proc = self._spawn([server.command, *args], env)
        wait_for_port(port, proc)
        url = f"http://127.0.0.1:{port}{path}"
        self._upstream_urls[(server.name, wire)] = url
        return url

    def gateway_config(self, servers: Mapping[str, Mapping[str, Any]]) -> Path:
        """Writes an Ostiary config serving `servers` (name -> server entry) and returns its path."""
        path = self.workdir / f"ostiary-{next(self._config_ids)}.yaml"
        config = {
            "servers": {name: dict(entry) for name, entry in servers.items()},
            "store": f"sqlite+aiosqlite:///{self.workdir / 'store.db'}",
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    def entry(self, server: Server, back: Back, upstream_era: UpstreamEra) -> dict[str, Any]:
        if back != "stdio":
            entry: dict[str, Any] = {"url": self._upstream_urls[(server.name, back)], "prefix": ""}
            if back == "sse":
                entry["transport"] = "sse"
            if upstream_era != "auto":
                entry["era"] = upstream_era
            return entry
        return server.stdio_entry(upstream_era)

    def start_gateway_http(self, config: Path, port: int) -> str:
        args = [*self.ostiary, "serve", "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
        wait_for_port(port, self._spawn(args))
        return f"http://127.0.0.1:{port}/mcp"

    def start(self, server: Server, legs: Iterable[Leg], hold: bool = True) -> None:
        """Starts every long-lived process the given legs of `server` need and (with `hold`) connects
        one held client per leg. A leg that cannot be set up is remembered and fails its own tests only."""
        legs = list(legs)
        for wire in {leg.back for leg in legs} - {"stdio"}:
            if (server.name, wire) in self._upstream_urls:
                continue
            try:
                self.start_http_upstream(server, wire, free_loopback_port())
            except (Exception, pytest.fail.Exception) as error:
                for leg in legs:
                    if leg.back == wire:
                        self._broken[(server.name, leg)] = f"{server.name} on {wire} did not start: {error}"
        pending = [leg for leg in legs if (server.name, leg) not in self._broken]
        with ThreadPoolExecutor(max_workers=4) as pool:
            setups = pool.map(lambda leg: self._set_up(server, leg, hold), pending)
            for leg, error in zip(pending, setups, strict=True):
                if error is not None:
                    self._broken[(server.name, leg)] = error

    def _set_up(self, server: Server, leg: Leg, hold: bool) -> str | None:
        """Starts what `leg` needs and opens its module-long connection; returns why it failed, if it did."""
        try:
            key = (server.name, leg.back, leg.upstream_era)
            if leg.gateway and leg.front == "http":
                with self._lock:
                    if key not in self._gateway_urls:
                        entry = self.entry(server, leg.back, leg.upstream_era)
                        self._gateway_urls[key] = self.start_gateway_http(
                            self.gateway_config({server.name: entry}), free_loopback_port()
                        )
            if hold:
                self.hold(
                    server.name, leg, lambda host: self.client(leg, server, **server.host_options(host))
                )
        except (Exception, pytest.fail.Exception) as error:
            return f"{type(error).__name__}: {error}"
        return None

    def hold(self, name: str, leg: Leg, make: Callable[[HostCallbacks], Client]) -> HeldClient:
        """Opens a module-long connection (closed by `close()`) and files it under (name, leg)."""
        held = HeldClient(make)
        with self._lock:
            self._held[(name, leg)] = held
        return held

    def check_set_up(self, server: Server, leg: Leg) -> None:
        """Fails the calling test if `leg` could not be set up (other legs carry on)."""
        if (server.name, leg) in self._broken:
            pytest.fail(f"{leg.id} could not be set up: {self._broken[(server.name, leg)]}", pytrace=False)

    def held(self, server: Server, leg: Leg) -> HeldClient:
        """The module-long connection of `leg`."""
        self.check_set_up(server, leg)
        return self._held[(server.name, leg)]

    def held_by_name(self, name: str, leg: Leg) -> HeldClient:
        return self._held[(name, leg)]

    def url_of(self, leg: Leg, server: Server) -> str:
        """The URL a client on an HTTP front connects to for `leg`."""
        self.check_set_up(server, leg)
        if leg.gateway:
            return self._gateway_urls[(server.name, leg.back, leg.upstream_era)]
        return self._upstream_urls[(server.name, leg.back)]

    def close(self) -> None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(HeldClient.close, self._held.values()))
        self._held.clear()
        for proc in reversed(self._procs):
            stop_process_group(proc)
        self._procs.clear()
        with contextlib.suppress(OSError):
            self._stderr.close()

    # -- clients ---------------------------------------------------------------------------------

    def stdio_transport(self, command: str, args: list[str], env: Mapping[str, str] | None = None) -> Any:
        params = StdioServerParameters(
            command=command, args=args, env={**get_default_environment(), **(env or {})}
        )
        return stdio_client(params, errlog=self._stderr)

    def client(self, leg: Leg, server: Server, **options: Any) -> Client:
        """An unentered SDK client for `server` over `leg`; use it as `async with topology.client(...)`."""
        options.setdefault("read_timeout_seconds", READ_TIMEOUT_SECONDS)
        target: Any
        if not leg.gateway and leg.back == "sse":
            target = sse_client(self.url_of(leg, server))
        elif leg.front == "http":
            target = self.url_of(leg, server)
        elif not leg.gateway:
            target = self.stdio_transport(server.command, list(server.args), server.env)
        else:
            config = self.gateway_config({server.name: self.entry(server, leg.back, leg.upstream_era)})
            target = self.gateway_stdio(config)
        return Client(target, mode=leg.mode, **options)

    def gateway_stdio(self, config: Path) -> Any:
        """A transport that launches `ostiary run` the way a desktop host does."""
        return self.stdio_transport(self.ostiary[0], [*self.ostiary[1:], "run", "--config", str(config)])

    def gateway_url(self, servers: Mapping[str, Mapping[str, Any]]) -> str:
        """Starts `ostiary serve` for an arbitrary server set (call from a module fixture)."""
        key = ("custom", str(sorted(servers)))
        if key not in self._gateway_urls:
            self._gateway_urls[key] = self.start_gateway_http(
                self.gateway_config(servers), free_loopback_port()
            )
        return self._gateway_urls[key]
