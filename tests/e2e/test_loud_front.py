"""`ostiary serve` says no loudly: a port out of range or a configuration that is not UTF-8 stops
it with an error, and /mcp answers a body that is not JSON with 415 and a client that will not
take JSON and SSE with 406."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from conftest import free_loopback_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]
HELLO = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
INITIALIZE = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": HELLO}).encode()


def test_a_port_out_of_range_is_an_error_not_another_port(
    ostiary_command: list[str], write_config: Callable[..., Path]
) -> None:
    config = str(write_config({"servers": {}}))
    done = subprocess.run(
        [*ostiary_command, "serve", "--config", config, "--port", "70000"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert b"65535" in done.stderr


def test_a_config_that_is_not_utf8_is_an_error_with_its_path(
    ostiary_command: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "gw.yaml"
    path.write_bytes(b"servers: {}\nname: \xff\n")
    for command in ("serve", "run"):
        done = subprocess.run(
            [*ostiary_command, command, "--config", str(path)],
            capture_output=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert f"{path}: line 2: not UTF-8".encode() in done.stderr
        assert b"Traceback" not in done.stderr


async def test_wrong_content_type_gets_415_and_wrong_accept_406(
    write_config: Callable[..., Path],
    spawn: Callable[..., subprocess.Popen[bytes]],
    ostiary_command: list[str],
) -> None:
    port = free_loopback_port()
    proc = spawn(
        [*ostiary_command, "serve", "--config", str(write_config({"servers": {}})), "--port", str(port)]
    )
    wait_for_port(port, proc)
    url = f"http://127.0.0.1:{port}/mcp"
    both = "application/json, text/event-stream"
    async with httpx2.AsyncClient(timeout=10) as http:
        for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
            headers = {"Accept": both} | ({"Content-Type": content_type} if content_type else {})
            response = await http.post(url, content=INITIALIZE, headers=headers)
            assert response.status_code == 415, content_type
        for accept in ("text/html", "application/json", "text/event-stream"):
            headers = {"Accept": accept, "Content-Type": "application/json"}
            response = await http.post(url, content=INITIALIZE, headers=headers)
            assert response.status_code == 406, accept
        for accept in (both, "*/*", "application/json; q=1, text/event-stream; q=0.5"):
            headers = {"Accept": accept, "Content-Type": "application/json; charset=utf-8"}
            response = await http.post(url, content=INITIALIZE, headers=headers)
            assert response.status_code == 200, (accept, response.text)
