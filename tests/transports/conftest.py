"""Real MCP servers on loopback for the HTTP transport tests, and a raw JSON-RPC driver.

server-everything (TypeScript SDK, 2025-11-25) runs in its `streamableHttp` and `sse` modes
behind the loopback preload; the official Python SDK server in tests/fixtures is the dual-era
peer for 2026-07-28. Servers live for a module; each test opens its own session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    url: str

    def crash(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                continue


def start_server(args: list[str], env: dict[str, str], port: int, path: str) -> Server:
    proc = subprocess.Popen(
        args,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = Server(proc, port, f"http://127.0.0.1:{port}{path}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{args[-1]} server exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return server
        time.sleep(0.05)
    server.stop()
    pytest.fail(f"server did not listen on {port}")


@pytest.fixture(scope="session")
def everything_js(peers_dir: Path) -> Path:
    return peers_dir / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"


def everything_starter(everything_js: Path) -> Callable[..., Server]:
    def start(mode: str, port: int | None = None) -> Server:
        port = port or loopback_port()
        env = {"PORT": str(port), "NODE_OPTIONS": f"--require={FIXTURES / 'node_loopback.cjs'}"}
        return start_server(
            ["node", str(everything_js), mode], env, port, "/mcp" if mode != "sse" else "/sse"
        )

    return start


@pytest.fixture
def start_everything(everything_js: Path) -> Iterator[Callable[..., Server]]:
    """A server-everything of its own for a test that kills it (and restarts it on the same port)."""
    started: list[Server] = []
    starter = everything_starter(everything_js)

    def start(mode: str, port: int | None = None) -> Server:
        started.append(starter(mode, port))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def everything_http(everything_js: Path) -> Iterator[Server]:
    server = everything_starter(everything_js)("streamableHttp")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def everything_sse(everything_js: Path) -> Iterator[Server]:
    server = everything_starter(everything_js)("sse")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def py_http() -> Iterator[Server]:
    port = loopback_port()
    server = start_server([sys.executable, str(FIXTURES / "py_http_server.py"), str(port)], {}, port, "/mcp")
    yield server
    server.stop()
