"""The Streamable HTTP front's own defences, seen from a hostile client on loopback.

Real SDK clients never send these requests, so the tests speak HTTP directly: wrong origins and
hosts, requests without or with someone else's session, one principal hoarding sessions, and
2026-07-28 headers that disagree with the body. Malformed bodies and hang-ups are in
test_hostile_http.py.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from conftest import free_loopback_port, live_descendants, stop_process_group, wait_for_port
from ostiary.auth.apikeys import mint

pytestmark = pytest.mark.e2e
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "interactive_server.py"
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


def _init(request_id: int = 1) -> dict[str, Any]:
    params = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }
    return {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params}


def _start(tmp: Path, ostiary_command: list[str], **extra: Any) -> tuple[subprocess.Popen[bytes], str]:
    config = {
        "servers": {"ia": {"command": sys.executable, "args": [str(FIXTURE)]}},
        "limits": {"max_message_bytes": 65536},
        "store": f"sqlite+aiosqlite:///{tmp / 'ostiary.db'}",
        **extra,
    }
    path = tmp / "ostiary.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_loopback_port()
    with (tmp / "gateway.log").open("wb") as log:
        proc = subprocess.Popen(
            [*ostiary_command, "serve", "--config", str(path), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for_port(port, proc)
    return proc, f"http://127.0.0.1:{port}/mcp"


@pytest.fixture(scope="module")
def url(ostiary_command: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One gateway for every test whose requests must not disturb it: that it keeps serving
    after each of them is part of what they check."""
    proc, address = _start(tmp_path_factory.mktemp("front"), ostiary_command)
    try:
        # The stateless (2026-07-28) session is shared by every test: open it before any test runs.
        asyncio.run(_modern_list(address))
        yield address
    finally:
        stop_process_group(proc)


def _servers_of(gateway_pid: int) -> dict[int, str]:
    """The fixture server processes the gateway is running right now."""
    return {pid: cmd for pid, cmd in live_descendants(gateway_pid).items() if "interactive_server" in cmd}


async def _modern_list(url: str) -> httpx2.Response:
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {"_meta": MODERN_META}}
    headers = {**ACCEPT, "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"}
    async with httpx2.AsyncClient(timeout=60) as client:
        return await client.post(url, json=body, headers=headers)


async def _end(client: httpx2.AsyncClient, url: str, response: httpx2.Response, **headers: str) -> None:
    """End a session the way a well-behaved client does, so its servers stop now."""
    sid = response.headers.get("mcp-session-id")
    if sid is not None:
        await client.delete(url, headers={"Mcp-Session-Id": sid, **headers})


async def _session(client: httpx2.AsyncClient, url: str, headers: dict[str, str] | None = None) -> str:
    response = await client.post(url, json=_init(), headers={**ACCEPT, **(headers or {})})
    assert response.status_code == 200, response.text
    sid = response.headers["mcp-session-id"]
    assert len(sid) >= 32
    return sid


async def test_a_browser_origin_that_is_not_allowed_is_refused(url: str) -> None:
    async with httpx2.AsyncClient(timeout=30) as client:
        refused = await client.post(url, json=_init(), headers={**ACCEPT, "Origin": "https://evil.example"})
        allowed = await client.post(url, json=_init(), headers={**ACCEPT, "Origin": "http://localhost:3000"})
        await _end(client, url, allowed)
    assert refused.status_code == 403
    assert allowed.status_code == 200


async def test_a_rebound_host_name_is_refused(url: str) -> None:
    async with httpx2.AsyncClient(timeout=30) as client:
        response = await client.post(url, json=_init(), headers={**ACCEPT, "Host": "attacker.example"})
    assert response.status_code == 403


async def test_session_rules_missing_unknown_and_ended_sessions(url: str) -> None:
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    async with httpx2.AsyncClient(timeout=30) as client:
        missing = await client.post(url, json=ping, headers=ACCEPT)
        unknown = await client.post(url, json=ping, headers={**ACCEPT, "Mcp-Session-Id": "not-a-session"})
        sid = await _session(client, url)
        ok = await client.post(url, json=ping, headers={**ACCEPT, "Mcp-Session-Id": sid})
        ended = await client.delete(url, headers={"Mcp-Session-Id": sid})
        after = await client.post(url, json=ping, headers={**ACCEPT, "Mcp-Session-Id": sid})
    assert (missing.status_code, unknown.status_code) == (400, 404)
    assert ok.status_code == 200 and ok.json()["result"] == {}
    assert ended.status_code == 200 and after.status_code == 404


async def test_other_paths_and_methods_are_refused_and_leave_sessions_alone(url: str) -> None:
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    async with httpx2.AsyncClient(timeout=30) as client:
        elsewhere = await client.post(url.replace("/mcp", "/other"), json=ping, headers=ACCEPT)
        sid = await _session(client, url)
        put = await client.put(url, json=ping, headers={**ACCEPT, "Mcp-Session-Id": sid})
        head = await client.head(url, headers={"Mcp-Session-Id": sid})
        still = await client.post(url, json=ping, headers={**ACCEPT, "Mcp-Session-Id": sid})
        ended = await client.delete(url, headers={"Mcp-Session-Id": sid})
    assert elsewhere.status_code == 404
    assert (put.status_code, head.status_code) == (405, 405)
    assert put.headers["allow"] == "POST, GET, DELETE"
    assert still.status_code == 200 and ended.status_code == 200  # HEAD is not a DELETE


async def test_a_session_cannot_be_used_by_another_principal(
    ostiary_command: list[str], tmp_path: Path
) -> None:
    alice_key, alice_hash = mint("alice")
    bob_key, bob_hash = mint("bob")
    keys = [
        {"id": "alice", "hash": alice_hash, "subject": "alice"},
        {"id": "bob", "hash": bob_hash, "subject": "bob"},
    ]
    proc, url = _start(tmp_path, ostiary_command, auth={"resource": "http://127.0.0.1/mcp", "api_keys": keys})
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    async with httpx2.AsyncClient(timeout=30) as client:
        anonymous = await client.post(url, json=_init(), headers=ACCEPT)
        sid = await _session(client, url, {"Authorization": f"Bearer {alice_key}"})
        as_alice = await client.post(
            url, json=ping, headers={**ACCEPT, "Mcp-Session-Id": sid, "X-API-Key": alice_key}
        )
        as_bob = await client.post(
            url, json=ping, headers={**ACCEPT, "Mcp-Session-Id": sid, "X-API-Key": bob_key}
        )
        base = url.removesuffix("/mcp")
        documents = [
            (await client.get(base + path)).json()
            for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource")
        ]
    stop_process_group(proc)
    assert anonymous.status_code == 401 and "Bearer" in anonymous.headers.get("www-authenticate", "")
    assert as_alice.status_code == 200
    assert as_bob.status_code == 404  # indistinguishable from a session that does not exist
    assert [d["resource"] for d in documents] == ["http://127.0.0.1/mcp"] * 2  # RFC 9728, both places


async def test_one_principal_cannot_hold_more_sessions_than_its_share(
    ostiary_command: list[str], tmp_path: Path
) -> None:
    proc, url = _start(tmp_path, ostiary_command, listen={"max_sessions_per_principal": 2})
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    try:
        async with httpx2.AsyncClient(timeout=60) as client:
            first, second, third = [await _session(client, url) for _ in range(3)]
            answers = [
                (await client.post(url, json=ping, headers={**ACCEPT, "Mcp-Session-Id": sid})).status_code
                for sid in (first, second, third)
            ]
            for sid in (second, third):
                await client.delete(url, headers={"Mcp-Session-Id": sid})
    finally:
        stop_process_group(proc)
    assert answers == [404, 200, 200]  # the least recently used one made room


async def test_a_session_abandoned_without_delete_is_closed_with_its_servers(
    ostiary_command: list[str], tmp_path: Path
) -> None:
    proc, url = _start(tmp_path, ostiary_command, listen={"detached_idle_timeout": 1})
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    try:
        async with httpx2.AsyncClient(timeout=60) as client:
            sid = await _session(client, url)
            listed = await client.post(
                url,
                json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
                headers={**ACCEPT, "Mcp-Session-Id": sid},
            )
            servers_while_used = _servers_of(proc.pid)
            await asyncio.sleep(3)  # no GET stream, nothing in flight: abandoned
            servers_after = _servers_of(proc.pid)
            later = await client.post(url, json=ping, headers={**ACCEPT, "Mcp-Session-Id": sid})
    finally:
        stop_process_group(proc)
    assert listed.status_code == 200 and "ia__ask_model" in listed.text
    assert len(servers_while_used) == 1 and servers_after == {}
    assert later.status_code == 404


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "no Mcp-Method"),
        ({"Mcp-Method": "tools/list", "Mcp-Name": "ia__ask_model"}, "method differs"),
        ({"Mcp-Method": "tools/call", "Mcp-Name": "ia__count_roots"}, "name differs"),
        ({"Mcp-Method": "tools/call"}, "no Mcp-Name"),
    ],
)
async def test_2026_headers_that_disagree_with_the_body_are_refused(
    url: str, headers: dict[str, str], why: str
) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "ia__ask_model", "arguments": {}, "_meta": MODERN_META},
    }
    async with httpx2.AsyncClient(timeout=30) as client:
        response = await client.post(
            url, json=body, headers={**ACCEPT, "MCP-Protocol-Version": "2026-07-28", **headers}
        )
    assert response.status_code == 400, why
    assert response.json()["error"]["code"] == -32020


async def test_a_2026_request_that_mirrors_its_headers_is_served_without_a_session(url: str) -> None:
    response = await _modern_list(url)
    async with httpx2.AsyncClient(timeout=30) as client:
        get = await client.get(url, headers={"Accept": "text/event-stream"})
    assert response.status_code == 200 and "mcp-session-id" not in response.headers
    result = response.json()["result"]
    assert {t["name"] for t in result["tools"]} >= {"ia__ask_model"}
    assert result["resultType"] == "complete" and result["cacheScope"] == "private"
    assert get.status_code == 405


def test_serving_beyond_loopback_without_authentication_is_refused(
    write_config: Callable[..., Path], ostiary_command: list[str]
) -> None:
    config = write_config({"servers": {}})
    done = subprocess.run(
        [*ostiary_command, "serve", "--config", str(config), "--host", "0.0.0.0", "--port", "9"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "without authentication" in done.stderr
