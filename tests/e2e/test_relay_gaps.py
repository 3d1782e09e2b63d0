"""Three relays that must hold across protocol eras: a cancelled call is cancelled at a
2026-07-28 server, a 2026-07-28 client hears the progress of a 2025-era server, and a
`subscriptions/listen` through `ostiary serve` is acknowledged. Real SDK clients and servers on
both sides (server-everything for the 2025-era server).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from conftest import free_loopback_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

SLOW = Path(__file__).resolve().parent.parent / "fixtures" / "slow_server.py"
MODERN = "2026-07-28"


def everything(node22: Path, peers_dir: Path) -> dict[str, Any]:
    script = peers_dir / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
    return {"command": str(node22), "args": [str(script), "stdio"]}


def through_run(ostiary_command: list[str], config: Path) -> StdioServerParameters:
    command, *prefix = ostiary_command
    return StdioServerParameters(command=command, args=[*prefix, "run", "--config", str(config)])


@pytest.mark.parametrize("server_era", ["modern", "legacy"])
@pytest.mark.parametrize("client_era", ["legacy", MODERN])
async def test_a_cancelled_call_does_not_finish_at_the_server(
    client_era: str,
    server_era: str,
    write_config: Callable[..., Path],
    ostiary_command: list[str],
    tmp_path: Path,
) -> None:
    server = {"command": sys.executable, "args": [str(SLOW)], "era": server_era}
    config = write_config({"servers": {"slow": server}})
    marker = tmp_path / "finished"
    async with Client(through_run(ostiary_command, config), mode=client_era) as client:
        with anyio.move_on_after(1.0):
            await client.call_tool("slow__slow", {"marker": str(marker), "seconds": 3.0})
        await anyio.sleep(4.0)
        assert not marker.exists(), "the server finished a call its client had cancelled"
        # The session goes on after the cancellation.
        assert (await client.list_tools()).tools


@pytest.mark.parametrize("front", ["stdio", "http"])
async def test_a_modern_client_hears_the_progress_of_a_2025_server(
    front: str,
    write_config: Callable[..., Path],
    ostiary_command: list[str],
    spawn: Callable[..., subprocess.Popen[bytes]],
    node22: Path,
    peers_dir: Path,
) -> None:
    config = write_config({"servers": {"everything": {**everything(node22, peers_dir), "prefix": ""}}})
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    target: Any = through_run(ostiary_command, config)
    if front == "http":
        port = free_loopback_port()
        proc = spawn([*ostiary_command, "serve", "--config", str(config), "--port", str(port)])
        wait_for_port(port, proc)
        target = f"http://127.0.0.1:{port}/mcp"
    async with Client(target, mode=MODERN) as client:
        result = await client.call_tool(
            "trigger-long-running-operation", {"duration": 1, "steps": 3}, progress_callback=on_progress
        )
    assert not result.is_error
    assert progress == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("server", ["everything", "slow"])
async def test_listen_through_serve_is_acknowledged(
    server: str,
    write_config: Callable[..., Path],
    ostiary_command: list[str],
    spawn: Callable[..., subprocess.Popen[bytes]],
    node22: Path,
    peers_dir: Path,
) -> None:
    upstream = (
        everything(node22, peers_dir)
        if server == "everything"
        else {"command": sys.executable, "args": [str(SLOW)]}
    )
    config = write_config({"servers": {server: upstream}})
    port = free_loopback_port()
    proc = spawn([*ostiary_command, "serve", "--config", str(config), "--port", str(port)])
    wait_for_port(port, proc)
    url = f"http://127.0.0.1:{port}/mcp"
    async with (
        Client(url, mode=MODERN, read_timeout_seconds=10) as client,
        client.listen(tools_list_changed=True) as subscription,
    ):
        honoured = subscription.honored
    assert honoured is not None
