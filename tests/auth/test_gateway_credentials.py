"""Upstream credentials through the gateway: the upstream receives its own credential from a secret
reference, and neither that credential nor the client's token appears in anything the client,
a log or the audit store can show; the client's token is never sent upstream."""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from auth.issuer import ISSUER, Issuer
from auth.loopback import serve_json
from conftest import free_loopback_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]
PROBE = Path(__file__).resolve().parent / "credential_server.py"


def stored_bytes(tmp_path: Path) -> bytes:
    """Everything the audit store wrote (the database and its write-ahead log)."""
    return b"".join(p.read_bytes() for p in tmp_path.glob("ostiary.db*"))


async def test_a_stdio_upstream_receives_its_credential_and_nothing_shows_it(
    tmp_path: Path, write_config: Callable[..., Path], ostiary_command: list[str]
) -> None:
    credential = "upstream-" + secrets.token_hex(20)
    config = write_config(
        {
            "servers": {
                "probe": {
                    "command": sys.executable,
                    "args": [str(PROBE)],
                    "env": {"UPSTREAM_TOKEN": "${env:OSTIARY_E2E_UPSTREAM_TOKEN}"},
                }
            }
        }
    )
    command, *prefix = ostiary_command
    params = StdioServerParameters(
        command=command,
        args=[*prefix, "run", "--config", str(config), "--log-level", "debug"],
        env={**os.environ, "OSTIARY_E2E_UPSTREAM_TOKEN": credential},
    )
    log_path = tmp_path / "gateway.log"
    with log_path.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            tools = await client.list_tools()
            result = await client.call_tool("probe__credential_fingerprint", {})
    seen_by_client = tools.model_dump_json() + result.model_dump_json()
    assert hashlib.sha256(credential.encode()).hexdigest() in seen_by_client  # it arrived upstream
    assert credential not in seen_by_client
    assert credential not in log_path.read_text()
    assert stored_bytes(tmp_path)  # the audit store was written
    assert credential.encode() not in stored_bytes(tmp_path)


async def test_an_http_upstream_gets_its_own_credential_and_never_the_clients_token(
    tmp_path: Path,
    issuer: Issuer,
    write_config: Callable[..., Path],
    spawn: Callable[..., subprocess.Popen[bytes]],
    ostiary_command: list[str],
) -> None:
    credential = "remote-" + secrets.token_hex(20)
    port = free_loopback_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    with serve_json() as upstream:
        spec: dict[str, Any] = {
            "servers": {
                "remote": {
                    "url": f"{upstream.url}/mcp",
                    "headers": {"Authorization": "Bearer ${env:OSTIARY_E2E_REMOTE_TOKEN}"},
                }
            },
            "auth": {
                "resource": resource,
                "authorization_servers": [ISSUER],
                "jwt": {"issuer": ISSUER, "jwks_url": issuer.url},
            },
        }
        config = write_config(spec)
        log_path = tmp_path / "gateway.log"
        with log_path.open("wb") as log:
            listen = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "debug"]
            proc = spawn(
                [*ostiary_command, "serve", "--config", str(config), *listen],
                env={**os.environ, "OSTIARY_E2E_REMOTE_TOKEN": credential}, stderr=log, stdout=log,
            )  # fmt: skip
            wait_for_port(port, proc)
            user_token = issuer.mint(aud=resource)
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {user_token}"}, timeout=30)
            seen_by_client = ""
            try:
                async with Client(
                    streamable_http_client(resource, http_client=http), mode="legacy"
                ) as client:
                    seen_by_client = (await client.list_tools()).model_dump_json()
            except Exception as exc:  # the recorder is not a real MCP server; what matters is what it saw
                seen_by_client = repr(exc)
    assert upstream.seen, "the gateway never contacted the upstream"
    for request in upstream.seen:
        assert request["headers"].get("Authorization") == f"Bearer {credential}"
        assert user_token not in repr(request)
    assert credential not in seen_by_client
    assert credential not in log_path.read_text(errors="replace")
    assert user_token not in log_path.read_text(errors="replace")
    assert credential.encode() not in stored_bytes(tmp_path)
    assert user_token.encode() not in stored_bytes(tmp_path)
