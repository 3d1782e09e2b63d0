"""HTTP sessions cost what they use: with `isolation: principal` the sessions of one principal
share one process of a stdio server; with the default `session`, each has its own."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from conftest import free_loopback_port, live_descendants, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def _time_servers(gateway: int) -> list[int]:
    return [pid for pid, cmd in live_descendants(gateway).items() if "mcp-server-time" in cmd]


@pytest.fixture
def serve(
    write_config: Callable[..., Path],
    ostiary_command: list[str],
    spawn: Callable[..., subprocess.Popen[bytes]],
) -> Callable[[str], tuple[subprocess.Popen[bytes], str]]:
    """`ostiary serve` with the time server at the given isolation; stopped after the test."""

    def start(isolation: str) -> tuple[subprocess.Popen[bytes], str]:
        config = write_config({"servers": {"time": {"command": "mcp-server-time", "isolation": isolation}}})
        port = free_loopback_port()
        proc = spawn([*ostiary_command, "serve", "--config", str(config), "--port", str(port)])
        wait_for_port(port, proc)
        return proc, f"http://127.0.0.1:{port}/mcp"

    return start


async def _three_sessions(url: str, gateway: int) -> tuple[list[int], list[str], list[int]]:
    """Opens three sessions at once; (server processes while all are open, a call's result from
    each, server processes once the first two have ended)."""
    async with (
        Client(streamable_http_client(url), mode="legacy") as first,
        Client(streamable_http_client(url), mode="legacy") as second,
    ):
        async with Client(streamable_http_client(url), mode="legacy") as third:
            results = []
            for client in (first, second, third):
                called = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
                results.append(called.content[0].text)  # type: ignore[union-attr]
            during = _time_servers(gateway)
        after_one = _time_servers(gateway)
        assert (await second.call_tool("time__get_current_time", {"timezone": "UTC"})).is_error is False
    return during, results, after_one


async def test_sessions_of_one_principal_share_a_server_process_with_isolation_principal(
    serve: Callable[[str], tuple[subprocess.Popen[bytes], str]],
) -> None:
    proc, url = serve("principal")
    during, results, after_one = await _three_sessions(url, proc.pid)
    assert len(during) == 1
    assert all('"timezone": "UTC"' in text for text in results)
    assert after_one == during  # the others still use it


async def test_each_session_has_its_own_server_process_by_default(
    serve: Callable[[str], tuple[subprocess.Popen[bytes], str]],
) -> None:
    proc, url = serve("session")
    during, _, after_one = await _three_sessions(url, proc.pid)
    assert len(during) == 3
    assert len(after_one) == 2
