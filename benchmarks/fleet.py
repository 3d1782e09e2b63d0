"""Starting what the benchmark measures: echo servers, gateways, and the clients in front of them.

A fleet is N clients of one kind on one path, opened together and closed together. On stdio each
client has its own server process, and through the gateway its own `ostiary run` (which starts
its own echo server), exactly what N desktop hosts would do. On HTTP each client has its own
connection and session to one shared server or one shared `ostiary serve`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, TextIO

import procstat
from rawclient import Era, RawHttp, RawStdio
from sdkclient import Mode, SdkClient

BENCH_DIR = Path(__file__).resolve().parent
ECHO_SERVER = BENCH_DIR / "echo_server.py"
Transport = Literal["stdio", "http"]
Path_ = Literal["direct", "gateway"]
Kind = Literal["raw", "sdk"]


class EchoClient(Protocol):
    async def echo(self, text: str) -> str: ...
    async def aclose(self) -> None: ...


# examples/quickstart.yaml's inspections, in its order and with its options. Its policy allows
# the read-only tools of its two servers; this one, shaped the same, allows the echo tool.
QUICKSTART_INSPECTIONS = """inspections:
  - name: toolfilter
  - {{name: pinning, mode: enforce}}
  - {{name: poisoning, action: block}}
  - {{name: policy, file: {policy}}}
  - {{name: injection, action: warn}}
  - {{name: secrets, action: redact}}
"""
QUICKSTART_POLICY = """version: 1
defaults:
  read_only: allow
  other: approve
read_only:
  tools:
    echo: [echo]
rules:
  - id: never-reset
    description: nobody resets the working tree through an agent
    effect: deny
    servers: [git]
    tools: [git_reset]
"""


@dataclass
class Setup:
    """Everything the fleets share: the interpreter, the gateway command, a scratch directory."""

    python: str
    ostiary: str
    workdir: Path
    errlog: TextIO
    raw_era: Era
    sdk_mode: Mode
    # on: the default audit log; normal: audit.sqlite_synchronous normal; nospool: audit.spool
    # false (records commit directly); spool: audit.spool true (PostgreSQL's opt-in); off:
    # audit.enabled false.
    audit: str = "on"
    # The store URL; None: a SQLite file in the scratch directory.
    store: str | None = None
    # quickstart: every built-in inspection as examples/quickstart.yaml configures them (what a
    # user runs); toolfilter: the one-stage pipeline earlier figures were measured with.
    pipeline: str = "quickstart"
    # detectors.model: None leaves the default (auto: the learned tier when numpy and the shipped
    # models are there); off measures the gateway without it; on requires it.
    model: str | None = None

    def echo_argv(self) -> list[str]:
        return [self.python, str(ECHO_SERVER)]

    def sqlite_store(self, name: str) -> str:
        return f"sqlite+aiosqlite:///{self.workdir / (name + '.db')}"

    def gateway_config(self, name: str, server_yaml: str | None) -> Path:
        """A config with the echo server unprefixed (tool name `echo`) and the pipeline on."""
        servers = f"servers:\n  echo: {server_yaml}\n" if server_yaml is not None else "servers: {}\n"
        text = (
            servers
            + self.inspections_yaml()
            + (f"detectors: {{model: {self.model}}}\n" if self.model else "")
            + f"store: {self.store or self.sqlite_store(name)}\n"
            + {
                "on": "",
                "normal": "audit: {sqlite_synchronous: normal}\n",
                "nospool": "audit: {spool: false}\n",
                "spool": f"audit: {{spool: true, spool_dir: {self.workdir / 'spool'}}}\n",
                "off": "audit: {enabled: false}\n",
            }[self.audit]
        )
        path = self.workdir / f"{name}.yaml"
        path.write_text(text)
        return path

    def inspections_yaml(self) -> str:
        if self.pipeline == "toolfilter":
            return "inspections:\n  - {name: toolfilter, mode: enforce}\n"
        policy = self.workdir / "bench-policy.yaml"
        policy.write_text(QUICKSTART_POLICY)
        return QUICKSTART_INSPECTIONS.format(policy=policy)

    def stdio_gateway_config(self) -> Path:
        server = f'{{command: "{self.python}", args: ["{ECHO_SERVER}"], prefix: ""}}'
        return self.gateway_config("stdio-gateway", server)

    def gateway_run_argv(self, config: Path) -> list[str]:
        return [self.ostiary, "run", "--config", str(config)]


@dataclass
class Fleet:
    clients: list[EchoClient]
    # Processes whose CPU and memory are reported, by role.
    gateway_pids: list[int] = field(default_factory=list)
    server_pids: list[int] = field(default_factory=list)
    protocol: str = ""

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self.clients), return_exceptions=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_for_port(port: int, process: subprocess.Popen[bytes], deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} before listening")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {deadline_s:.0f} s")


def spawn_background(argv: list[str], errlog: TextIO) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=errlog, stderr=errlog)


def stop_background(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _descendants_matching(root: int, needle: str) -> list[int]:
    return [pid for pid in procstat.children(root) if needle in procstat.cmdline(pid)]


async def _opened(client: RawStdio | RawHttp) -> EchoClient:
    """The client after its handshake, or closed (its process reaped) if the handshake failed."""
    try:
        await client.open()
    except BaseException:
        await client.aclose()
        raise
    return client


async def _open_all(count: int, opener: Callable[[], Awaitable[EchoClient]]) -> list[EchoClient]:
    results = await asyncio.gather(*(opener() for _ in range(count)), return_exceptions=True)
    clients = [r for r in results if not isinstance(r, BaseException)]
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
        first = failures[0]
        while isinstance(first, BaseExceptionGroup) and first.exceptions:
            first = first.exceptions[0]  # the SDK wraps the peer's answer in task-group errors
        raise RuntimeError(f"{len(failures)} of {count} clients could not connect: {first!r}")
    return clients


async def open_stdio(setup: Setup, path: Path_, kind: Kind, count: int) -> Fleet:
    argv = setup.echo_argv() if path == "direct" else setup.gateway_run_argv(setup.stdio_gateway_config())
    errfd = setup.errlog.fileno()

    async def open_raw() -> EchoClient:
        return await _opened(await RawStdio.spawn(argv, setup.raw_era, stderr=errfd))

    async def open_sdk() -> EchoClient:
        return await SdkClient.connect_stdio(argv[0], argv[1:], setup.sdk_mode, setup.errlog)

    clients = await _open_all(count, open_raw if kind == "raw" else open_sdk)
    fleet = Fleet(clients, protocol=_protocol(setup, kind, clients))
    me = os.getpid()
    if path == "direct":
        fleet.server_pids = _descendants_matching(me, str(ECHO_SERVER))
    else:
        # Both fleets of a pair are open at once: every child that is not an echo server is a gateway.
        fleet.gateway_pids = [
            pid for pid in procstat.children(me) if str(ECHO_SERVER) not in procstat.cmdline(pid)
        ]
        fleet.server_pids = [
            s for g in fleet.gateway_pids for s in _descendants_matching(g, str(ECHO_SERVER))
        ]
    return fleet


async def open_http(setup: Setup, url: str, kind: Kind, count: int) -> Fleet:
    async def open_raw() -> EchoClient:
        return await _opened(RawHttp(url, setup.raw_era))

    async def open_sdk() -> EchoClient:
        return await SdkClient.connect_http(url, setup.sdk_mode)

    clients = await _open_all(count, open_raw if kind == "raw" else open_sdk)
    return Fleet(clients, protocol=_protocol(setup, kind, clients))


def _protocol(setup: Setup, kind: Kind, clients: list[EchoClient]) -> str:
    if kind == "sdk":
        versions = sorted({getattr(c, "protocol_version", "") for c in clients})
        return ",".join(versions)
    return "2025-11-25" if setup.raw_era == "legacy" else "2026-07-28"


def ostiary_at(revision: str, python: str, workdir: Path) -> tuple[str, str]:
    """An `ostiary` command running the source of one commit, whatever the working tree holds.

    The tree may be mid-edit while the benchmark runs; figures quoted in docs should belong to a
    commit. `git archive` exports its `src/` into the scratch directory, untouched by later edits.
    """
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{revision}^{{commit}}"],
        cwd=BENCH_DIR.parent,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "archive", commit, "src"], cwd=BENCH_DIR.parent, check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(workdir)], input=archive.stdout, check=True)
    launcher = workdir / "ostiary"
    launcher.write_text(
        f"#!{python}\nimport sys\nsys.path.insert(0, {str(workdir / 'src')!r})\n"
        "from ostiary.cli import main\nmain()\n"
    )
    launcher.chmod(0o755)
    return str(launcher), commit


def ostiary_command(python: str) -> str:
    """The `ostiary` script next to the interpreter (the venv's), else whatever PATH finds."""
    beside = Path(python).parent / "ostiary"
    return str(beside) if beside.exists() else "ostiary"


def default_python() -> str:
    return sys.executable
