"""`ostiary serve` as an OAuth 2.1 resource server, seen by a real SDK client with tokens from a
real issuer on loopback: unauthenticated requests are challenged, each principal sees and may
call only what the policy gives it, and a token for another audience or in the URL gets nowhere."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from auth.issuer import ISSUER, Issuer
from conftest import free_loopback_port, refusal, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]
TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")

POLICY = """
defaults: {read_only: deny, other: deny}
rules:
  - {id: staff-time, effect: allow, principals: {groups: [dev]}, servers: [time]}
  - id: contractors-current-time-only
    effect: allow
    principals: {groups: [contractor]}
    servers: [time]
    tools: [get_current_time]
"""


@pytest.fixture
def gateway(
    issuer: Issuer,
    tmp_path: Path,
    write_config: Callable[..., Path],
    spawn: Callable[..., subprocess.Popen[bytes]],
    ostiary_command: list[str],
) -> str:
    port = free_loopback_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    (tmp_path / "policy.yaml").write_text(POLICY)
    spec: dict[str, Any] = {
        "servers": {"time": {"command": TIME_SERVER, "args": ["--local-timezone", "UTC"]}},
        "auth": {
            "resource": resource,
            "authorization_servers": [ISSUER],
            "required_scopes": ["mcp:tools"],
            "jwt": {"issuer": ISSUER, "jwks_url": issuer.url},
        },
        "inspections": [{"name": "policy", "file": "policy.yaml"}],
    }
    config = write_config(spec)
    proc = spawn(
        [*ostiary_command, "serve", "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    )
    wait_for_port(port, proc)
    return resource


def client(resource: str, token: str, mode: str = "legacy") -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return Client(streamable_http_client(resource, http_client=http), mode=mode)


async def test_a_request_without_a_token_is_challenged_towards_the_metadata(gateway: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(
            gateway, json=body, headers={"Accept": "application/json, text/event-stream"}
        )
        assert response.status_code == 401
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ")
        metadata_url = challenge.split('resource_metadata="')[1].split('"')[0]
        document = (await http.get(metadata_url)).json()
    assert document["resource"] == gateway
    assert document["authorization_servers"] == [ISSUER]


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_each_principal_sees_and_calls_only_what_the_policy_gives_it(
    gateway: str, issuer: Issuer, mode: str
) -> None:
    alice = issuer.mint(aud=gateway, sub="alice", groups=["dev"])
    carol = issuer.mint(aud=gateway, sub="carol", groups=["contractor"])
    async with client(gateway, alice, mode) as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        converted = await session.call_tool(
            "time__convert_time",
            {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Europe/Paris"},
        )
    assert names == {"time__get_current_time", "time__convert_time"}
    assert not converted.is_error
    async with client(gateway, carol, mode) as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        now = await session.call_tool("time__get_current_time", {"timezone": "UTC"})
        refused = await session.call_tool(
            "time__convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "UTC"}
        )
    assert names == {"time__get_current_time"}
    assert not now.is_error
    assert refusal(refused)[0] == "policy.denied"


async def test_a_token_for_another_audience_or_in_the_url_is_refused(gateway: str, issuer: Issuer) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream"}
    other = issuer.mint(aud="https://other.example.test/mcp")
    good = issuer.mint(aud=gateway)
    scopeless = issuer.mint(aud=gateway, scope="openid")
    async with httpx2.AsyncClient(timeout=10) as http:
        wrong_audience = await http.post(
            gateway, json=body, headers={**accept, "Authorization": f"Bearer {other}"}
        )
        in_url = await http.post(f"{gateway}?access_token={good}", json=body, headers=accept)
        no_scope = await http.post(
            gateway, json=body, headers={**accept, "Authorization": f"Bearer {scopeless}"}
        )
    assert wrong_audience.status_code == 401
    assert 'error="invalid_token"' in wrong_audience.headers["WWW-Authenticate"]
    assert in_url.status_code == 400
    assert no_scope.status_code == 403
    assert 'error="insufficient_scope"' in no_scope.headers["WWW-Authenticate"]
    for response in (wrong_audience, in_url, no_scope):
        assert good not in response.text
        assert other not in response.text


async def test_a_session_opened_by_one_principal_cannot_be_used_by_another(
    gateway: str, issuer: Issuer
) -> None:
    alice = {"Authorization": f"Bearer {issuer.mint(aud=gateway, sub='alice')}"}
    mallory = {"Authorization": f"Bearer {issuer.mint(aud=gateway, sub='mallory')}"}
    accept = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    async with httpx2.AsyncClient(timeout=30) as http:
        opened = await http.post(gateway, json=hello, headers={**accept, **alice})
        assert opened.status_code == 200
        session = {"Mcp-Session-Id": opened.headers["Mcp-Session-Id"]}
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await http.post(gateway, json=initialized, headers={**accept, **alice, **session})
        stolen = await http.post(gateway, json=listing, headers={**accept, **mallory, **session})
        own = await http.post(gateway, json=listing, headers={**accept, **alice, **session})
    assert stolen.status_code == 404
    assert own.status_code == 200
    assert "time__get_current_time" in own.text
