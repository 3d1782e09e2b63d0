"""The quick start as a new user meets it: a fresh clone, `scripts/start`, then the stdio command
it prints, launched the way a desktop host launches it (an SDK stdio client, a bare environment),
serves the example's tools."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from conftest import REPO, free_loopback_port, stop_process_group, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]

HOST_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"
SETUP_SECONDS = 300


def _printed(lines: list[str], label: str) -> str:
    found = [line.split(label, 1)[1].strip() for line in lines if label in line]
    assert found, f"scripts/start printed no {label!r} line:\n" + "\n".join(lines)
    return found[0]


async def test_a_fresh_clone_quick_start_prints_a_stdio_command_a_host_can_launch(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    clone = tmp_path / "ostiary"
    with anyio.fail_after(60):
        await anyio.run_process(["git", "clone", "--quiet", str(REPO), str(clone)])
    home = tmp_path / "home"
    home.mkdir()
    port = free_loopback_port()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "OSTIARY_STORE")}
    env["HOME"] = str(home)
    start = spawn(
        [str(clone / "scripts" / "start"), "--port", str(port)],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert start.stdout is not None
        lines: list[str] = []
        for raw in start.stdout:
            lines.append(raw.decode(errors="replace").rstrip())
            if "mcpServers JSON" in lines[-1]:
                lines.append(start.stdout.readline().decode().strip())
                break
        command = shlex.split(_printed(lines, "For a desktop host over stdio:"))
        snippet = json.loads("{" + lines[-1] + "}")["ostiary"]
        assert [snippet["command"], *snippet["args"]] == command
        wait_for_port(port, start, timeout=SETUP_SECONDS)  # the HTTP gateway beside it is up too

        assert Path(command[0]).is_absolute()
        host = StdioServerParameters(
            command=command[0], args=command[1:], env={"PATH": HOST_PATH, "HOME": str(home)}
        )
        async with Client(host, mode="legacy") as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            now = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
        assert {"time__get_current_time", "time__convert_time", "git__git_status"} <= names
        assert now.is_error is False
    finally:
        stop_process_group(start)
