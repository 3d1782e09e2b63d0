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
from mcp.shared.exceptions import MCPError

from auth.issuer import ISSUER, Issuer, token_endpoint_reply
from auth.loopback import serve_json
from conftest import free_loopback_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]
PROBE = Path(__file__).resolve().parent / "credential_server.py"
UPSTREAM_UNAVAILABLE = -32011


def stored_bytes(tmp_path: Path) -> bytes:
    """Everything the audit store wrote: the database, its write-ahead log, and any audit spool
    a gateway left (a running one's records pass through it)."""
    stored = [*tmp_path.glob("ostiary.db*"), *tmp_path.glob("ostiary.db-spool/*")]
    return b"".join(p.read_bytes() for p in stored if p.is_file())


Launch = Callable[[dict[str, Any], int, dict[str, str]], Path]


@pytest.fixture
def launch(
    tmp_path: Path,
    write_config: Callable[..., Path],
    spawn: Callable[..., subprocess.Popen[bytes]],
    ostiary_command: list[str],
) -> Launch:
    """Starts `ostiary serve` with this config on this port; returns the file its logs go to."""

    def start(spec: dict[str, Any], port: int, env: dict[str, str]) -> Path:
        config = write_config(spec)
        log_path = tmp_path / "gateway.log"
        listen = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "debug"]
        with log_path.open("wb") as log:
            proc = spawn(
                [*ostiary_command, "serve", "--config", str(config), *listen],
                env={**os.environ, **env}, stderr=log, stdout=log,
            )  # fmt: skip
        wait_for_port(port, proc)
        return log_path

    return start


def auth_section(resource: str, issuer: Issuer, upstreams: dict[str, Any] | None = None) -> dict[str, Any]:
    section: dict[str, Any] = {
        "resource": resource,
        "authorization_servers": [ISSUER],
        "jwt": {"issuer": ISSUER, "jwks_url": issuer.url},
    }
    if upstreams:
        section["upstreams"] = upstreams
    return section


def as_user(resource: str, token: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return Client(streamable_http_client(resource, http_client=http), mode="legacy")


async def list_tools_as(resource: str, token: str) -> str:
    """What the client got back, as text. The recording upstream is not an MCP server, so an
    error is expected; what matters is what the upstream and the client saw."""
    try:
        async with as_user(resource, token) as client:
            return (await client.list_tools()).model_dump_json()
    except Exception as exc:
        return repr(exc)


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
    tmp_path: Path, issuer: Issuer, launch: Launch
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
            "auth": auth_section(resource, issuer),
        }
        log_path = launch(spec, port, {"OSTIARY_E2E_REMOTE_TOKEN": credential})
        user_token = issuer.mint(aud=resource)
        seen_by_client = await list_tools_as(resource, user_token)
    assert upstream.seen, "the gateway never contacted the upstream"
    for request in upstream.seen:
        assert request["headers"].get("Authorization") == f"Bearer {credential}"
        assert user_token not in repr(request)
    assert credential not in seen_by_client
    assert credential not in log_path.read_text(errors="replace")
    assert user_token not in log_path.read_text(errors="replace")
    assert credential.encode() not in stored_bytes(tmp_path)
    assert user_token.encode() not in stored_bytes(tmp_path)


async def test_each_user_reaches_a_stdio_upstream_with_their_own_secret_and_others_get_none(
    tmp_path: Path, issuer: Issuer, launch: Launch
) -> None:
    secrets_by_user = {user: f"{user}-" + secrets.token_hex(16) for user in ("alice", "bob")}
    for user, value in secrets_by_user.items():
        (tmp_path / f"{user}.token").write_text(value)
    port = free_loopback_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    spec: dict[str, Any] = {
        "servers": {"probe": {"command": sys.executable, "args": [str(PROBE)]}},
        "auth": auth_section(
            resource,
            issuer,
            {
                "probe": {
                    "env": "UPSTREAM_TOKEN",
                    "per_user": {"secrets": {u: f"${{file:{tmp_path / u}.token}}" for u in secrets_by_user}},
                }
            },
        ),
    }
    log_path = launch(spec, port, {})
    seen = ""
    for user, value in secrets_by_user.items():
        async with as_user(resource, issuer.mint(aud=resource, sub=user)) as client:
            result = await client.call_tool("probe__credential_fingerprint", {})
        assert not result.is_error
        seen += result.model_dump_json()
        assert hashlib.sha256(value.encode()).hexdigest() in result.model_dump_json()
    async with as_user(resource, issuer.mint(aud=resource, sub="carol")) as client:
        with pytest.raises(MCPError) as refused:
            await client.call_tool("probe__credential_fingerprint", {})
    # Carol has no secret: the server is unavailable to her, and never started without one.
    assert refused.value.code == UPSTREAM_UNAVAILABLE
    seen += repr(refused.value) + repr(refused.value.error)
    for value in secrets_by_user.values():
        assert value not in seen
        assert value not in log_path.read_text(errors="replace")
        assert value.encode() not in stored_bytes(tmp_path)


async def test_an_http_upstream_gets_a_token_exchanged_for_the_caller_never_the_callers_own(
    tmp_path: Path, issuer: Issuer, launch: Launch
) -> None:
    client_secret = "cs-" + secrets.token_hex(16)
    port = free_loopback_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    with serve_json(token_endpoint_reply(client_secret)) as idp, serve_json() as upstream:
        exchange = {
            "token_endpoint": f"{idp.url}/token",
            "client_id": "ostiary",
            "client_secret": "${env:OSTIARY_E2E_CLIENT_SECRET}",
            "resource": f"{upstream.url}/mcp",
        }
        spec: dict[str, Any] = {
            "servers": {"remote": {"url": f"{upstream.url}/mcp"}},
            "auth": auth_section(resource, issuer, {"remote": {"token_exchange": exchange}}),
        }
        log_path = launch(spec, port, {"OSTIARY_E2E_CLIENT_SECRET": client_secret})
        user_token = issuer.mint(aud=resource, sub="alice")
        seen_by_client = await list_tools_as(resource, user_token)
    assert [r["form"]["subject_token"] for r in idp.seen][:1] == [[user_token]]
    assert upstream.seen, "the gateway never contacted the upstream"
    exchanged = upstream.seen[0]["headers"]["Authorization"].removeprefix("Bearer ")
    assert exchanged.startswith("upstream-")
    for request in upstream.seen:
        assert user_token not in repr(request)
    log = log_path.read_text(errors="replace")
    for value in (exchanged, client_secret, user_token):
        assert value not in seen_by_client
        assert value not in log
        assert value.encode() not in stored_bytes(tmp_path)
