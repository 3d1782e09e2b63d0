"""The handshake as a 2025-era host sees it through Ostiary: the answer to initialize comes first."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from rawstdio import RawStdioClient

pytestmark = pytest.mark.e2e


def test_what_a_server_says_before_the_host_finished_its_handshake_waits_for_it(
    write_config: Callable[..., Path],
    ostiary_command: list[str],
    peers_dir: Path,
    spawn: Callable[..., subprocess.Popen[bytes]],
) -> None:
    # server-everything sends tools/list_changed right after its own handshake with the gateway,
    # which is before the gateway has answered the host.
    everything = peers_dir / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
    config = write_config(
        {"servers": {"everything": {"command": "node", "args": [str(everything), "stdio"]}}}
    )
    proc = spawn(
        [*ostiary_command, "run", "--config", str(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    client = RawStdioClient(proc)
    params = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }
    client.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
    first = client.next_message(timeout=60)
    client.assert_silent(1.0)  # nothing else until the host says it is initialized
    client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    held = client.next_message(timeout=20)
    assert first["id"] == 1 and first["result"]["protocolVersion"] == "2025-11-25"
    assert held["method"] == "notifications/tools/list_changed"
