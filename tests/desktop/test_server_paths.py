"""A desktop host launches `ostiary run` with a minimal environment and hides its stderr: the
gateway must find the servers it was configured with anyway, and say so to the client when one
cannot start."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters, types

from conftest import free_loopback_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

# What macOS gives an app launched from the Dock; Linux desktops are no richer.
HOST_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"


def _host_launch(config: Path, home: Path) -> StdioServerParameters:
    """The gateway as a host starts it: an absolute command, a bare environment."""
    ostiary = str(Path(sys.executable).parent / "ostiary")
    env = {"PATH": HOST_PATH, "HOME": str(home)}
    return StdioServerParameters(command=ostiary, args=["run", "--config", str(config)], env=env)


async def test_a_bare_command_is_found_in_the_gateways_own_environment(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    assert not any((Path(d) / "mcp-server-time").exists() for d in HOST_PATH.split(":"))
    config = write_config({"servers": {"time": {"command": "mcp-server-time"}}})
    async with Client(_host_launch(config, tmp_path), mode="legacy") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        now = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
    assert names == {"time__get_current_time", "time__convert_time"}
    assert now.is_error is False


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_server_that_cannot_start_is_reported_to_the_client_not_only_on_stderr(
    write_config: Callable[..., Path], tmp_path: Path, mode: Any
) -> None:
    config = write_config(
        {
            "servers": {
                "time": {"command": "mcp-server-time"},
                "notes": {"command": "no-such-mcp-server", "args": ["--serve"]},
            }
        }
    )
    heard: list[types.LoggingMessageNotificationParams] = []
    told = anyio.Event()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        heard.append(params)
        told.set()

    async with Client(_host_launch(config, tmp_path), mode=mode, logging_callback=on_log) as client:
        listed = await client.list_tools()
        instructions = client.instructions
        if mode == "legacy":
            with anyio.fail_after(10):
                await told.wait()
    assert {tool.name for tool in listed.tools} == {"time__get_current_time", "time__convert_time"}
    # Scripts read the reason beside the list; the model reads it in the instructions.
    reason = (listed.meta or {})["ostiary/unavailable"]["notes"]
    assert "no-such-mcp-server" in reason and "not found" in reason
    if mode == "legacy":  # a stateless client skips the handshake and has no channel outside requests
        assert instructions is not None and "notes: command 'no-such-mcp-server' not found" in instructions
        assert heard[0].level == "error"
        assert "notes" in str(heard[0].data) and "not found" in str(heard[0].data)


async def test_an_unreachable_remote_server_is_reported_with_its_url_and_cause(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    closed = free_loopback_port()  # nothing listens there
    config = write_config(
        {
            "servers": {
                "time": {"command": "mcp-server-time"},
                "remote": {"url": f"http://127.0.0.1:{closed}/mcp?token=x"},
            }
        }
    )
    async with Client(_host_launch(config, tmp_path), mode="legacy") as client:
        listed = await client.list_tools()
    reason = (listed.meta or {})["ostiary/unavailable"]["remote"]
    assert f"http://127.0.0.1:{closed}/mcp" in reason
    assert "unreachable" in reason and "token=x" not in reason
