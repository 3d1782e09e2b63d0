"""Per-server timeouts, seen by the official SDK client through `ostiary run` in front of a real
server-everything on stdio: a silent call ends at `timeout` with a clean JSON-RPC error, progress
keeps a long call alive, `max_timeout` ends it whatever it reports, and the connection serves the
next call afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from ostiary import methods

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

LONG = "trigger-long-running-operation"


def _gateway(ostiary_command: list[str], config: Path) -> Client:
    command, *prefix = ostiary_command
    return Client(StdioServerParameters(command=command, args=[*prefix, "run", "--config", str(config)]))


@pytest.fixture
def config(write_config: Callable[..., Path], peers_dir: Path) -> Path:
    everything = peers_dir / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
    server = {
        "command": "node",
        "args": [str(everything), "stdio"],
        "prefix": "",
        "timeout": 1,
        "max_timeout": 2.5,
    }
    return write_config({"servers": {"everything": server}})


async def test_a_call_silent_past_its_timeout_ends_with_a_timeout_error_and_the_next_call_works(
    ostiary_command: list[str], config: Path
) -> None:
    async with _gateway(ostiary_command, config) as client:
        started = time.monotonic()
        with pytest.raises(MCPError) as raised:
            await client.call_tool(LONG, {"duration": 4, "steps": 2})  # no progress token: silent
        took = time.monotonic() - started
        echoed = await client.call_tool("echo", {"message": "still here"})
    assert raised.value.code == methods.UPSTREAM_TIMEOUT
    assert 0.9 <= took < 2.4
    assert "still here" in str(echoed.content[0])


async def test_progress_keeps_a_call_alive_past_its_timeout(ostiary_command: list[str], config: Path) -> None:
    seen: list[float] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append(value)

    async with _gateway(ostiary_command, config) as client:
        result = await client.call_tool(LONG, {"duration": 1.8, "steps": 6}, progress_callback=progress)
    assert not result.is_error
    assert len(seen) >= 5  # a report every 0.3 s kept the 1 s idle timeout from firing


async def test_max_timeout_ends_a_call_however_much_progress_it_reports(
    ostiary_command: list[str], config: Path
) -> None:
    async def progress(value: float, total: float | None, message: str | None) -> None:
        return None

    async with _gateway(ostiary_command, config) as client:
        started = time.monotonic()
        with pytest.raises(MCPError) as raised:
            await client.call_tool(LONG, {"duration": 6, "steps": 20}, progress_callback=progress)
        took = time.monotonic() - started
    assert raised.value.code == methods.UPSTREAM_TIMEOUT
    assert 2.4 <= took < 4.5
