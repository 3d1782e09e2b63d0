"""Held calls decided outside the conversation: from the terminal, over the HTTP API, on another
replica. The host is the official SDK client over Streamable HTTP; the server the real
`mcp-server-time`; the store SQLite, or the PostgreSQL on 127.0.0.1:5432 for replicas."""

from __future__ import annotations

import asyncio
import getpass
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import mcp_types as t
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from approvals.gateways import (
    HELD_ARGS,
    HELD_TOOL,
    approval_events,
    pending_request,
    run_ostiary,
    serve,
)
from ostiary.auth.apikeys import mint

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
Spawn = Callable[..., subprocess.Popen[bytes]]


def _text(result: t.CallToolResult) -> str:
    first = result.content[0]
    assert isinstance(first, t.TextContent)
    return first.text


async def test_a_cli_approval_releases_the_held_call_with_progress_meanwhile(
    held_gateway: Callable[..., Path], ostiary_command: list[str], spawn: Spawn
) -> None:
    config = held_gateway(["self"])
    base = serve(spawn, ostiary_command, config)
    progress: list[str] = []
    told = asyncio.Event()

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")
        told.set()

    async with Client(f"{base}/mcp", mode="legacy") as client:
        call = asyncio.create_task(client.call_tool(HELD_TOOL, HELD_ARGS, progress_callback=on_progress))
        pending = await pending_request(ostiary_command, config)
        assert pending["tool"] == "convert_time"
        assert pending["arguments"] == HELD_ARGS
        assert pending["rule"] == "convert-needs-review"
        assert pending["approvers"] == ["self"]
        shown = run_ostiary(ostiary_command, "approvals", "show", pending["id"], "--config", str(config))
        assert pending["args_hash"] in shown.stdout
        await asyncio.wait_for(told.wait(), 30)
        run_ostiary(ostiary_command, "approvals", "approve", pending["id"], "--config", str(config))
        result = await asyncio.wait_for(call, 30)
    assert not result.is_error and "Europe/Paris" in _text(result)
    assert pending["id"] in progress[0]
    events = approval_events(ostiary_command, config)
    assert [e["code"] for e in events] == ["approval.requested", "approval.approved"]
    assert events[1]["principal"] == getpass.getuser()
    assert events[1]["approval"]["reviewer"] == getpass.getuser()
    assert events[1]["approval"]["channel"] == "cli"


async def test_a_cli_denial_refuses_the_held_call_with_its_reason(
    held_gateway: Callable[..., Path], ostiary_command: list[str], spawn: Spawn
) -> None:
    config = held_gateway(["self"])
    base = serve(spawn, ostiary_command, config)
    async with Client(f"{base}/mcp", mode="legacy") as client:
        call = asyncio.create_task(client.call_tool(HELD_TOOL, HELD_ARGS))
        pending = await pending_request(ostiary_command, config)
        run_ostiary(
            ostiary_command,
            "approvals",
            "deny",
            pending["id"],
            "--reason",
            "not today",
            "--config",
            str(config),
        )
        with pytest.raises(MCPError) as refused:
            await asyncio.wait_for(call, 30)
    assert refused.value.error.data["code"] == "approval.denied"
    assert "not today" in refused.value.error.message


async def test_a_deferred_approval_is_spent_once_and_only_on_the_same_arguments(
    held_gateway: Callable[..., Path], ostiary_command: list[str], spawn: Spawn
) -> None:
    config = held_gateway(["self"], approvals={"mode": "deferred"})
    base = serve(spawn, ostiary_command, config)
    changed = {**HELD_ARGS, "target_timezone": "Asia/Tokyo"}
    async with Client(f"{base}/mcp", mode="legacy") as client:
        asked = await client.call_tool(HELD_TOOL, HELD_ARGS)
        assert asked.is_error and "did not run" in _text(asked)
        pending = await pending_request(ostiary_command, config)
        assert pending["id"] in _text(asked)
        run_ostiary(ostiary_command, "approvals", "approve", pending["id"], "--config", str(config))
        replayed = await client.call_tool(HELD_TOOL, changed)
        assert replayed.is_error and "did not run" in _text(replayed)
        assert pending["id"] not in _text(replayed)  # a new request, for the new arguments
        ran = await client.call_tool(HELD_TOOL, HELD_ARGS)
        assert not ran.is_error and "Europe/Paris" in _text(ran)
        again = await client.call_tool(HELD_TOOL, HELD_ARGS)
        assert again.is_error and "did not run" in _text(again)  # one use only
    shown = run_ostiary(ostiary_command, "approvals", "list", "--all", "--json", "--config", str(config))
    assert shown.stdout.count('"status": "pending"') == 2


def _api_keys() -> tuple[dict[str, str], list[dict[str, Any]]]:
    keys: dict[str, str] = {}
    records: list[dict[str, Any]] = []
    for name, groups in (("alice", ["reviewers"]), ("bob", ["reviewers"]), ("carol", [])):
        key, digest = mint(name)
        keys[name] = key
        records.append({"id": name, "hash": digest, "subject": name, "groups": groups})
    return keys, records


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _decide(base: str, request_id: str, key: str, decision: str) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=30) as http:
        return await http.post(
            f"{base}/approvals/{request_id}",
            json={"decision": decision, "reason": "checked"},
            headers=_as(key),
        )


async def _first_pending(base: str, key: str) -> dict[str, Any]:
    async with httpx2.AsyncClient(timeout=30) as http:
        for _ in range(150):
            listed = (await http.get(f"{base}/approvals", headers=_as(key))).json()["requests"]
            if listed:
                return listed[0]  # type: ignore[no-any-return]
            await asyncio.sleep(0.2)
    raise AssertionError("no pending request over the API")


async def test_over_the_api_a_requester_cannot_approve_their_own_request_and_a_named_reviewer_can(
    held_gateway: Callable[..., Path], ostiary_command: list[str], spawn: Spawn, free_port: int
) -> None:
    keys, records = _api_keys()
    auth = {"resource": f"http://127.0.0.1:{free_port}/mcp", "api_keys": records}
    config = held_gateway(["group:reviewers"], auth=auth)
    port = free_port
    proc = spawn([*ostiary_command, "serve", "--config", str(config), "--port", str(port)])
    from conftest import wait_for_port

    wait_for_port(port, proc)
    base = f"http://127.0.0.1:{port}"
    http = httpx2.AsyncClient(headers=_as(keys["alice"]), timeout=60)
    async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode="legacy") as client:
        call = asyncio.create_task(client.call_tool(HELD_TOOL, HELD_ARGS))
        pending = await _first_pending(base, keys["alice"])
        own = await _decide(base, pending["id"], keys["alice"], "approve")
        assert own.status_code == 403 and own.json()["error"] == "refused"
        for who, why in ((["--as", keys["alice"]], "their own"), ([], "not among")):  # from a terminal
            cli = await asyncio.to_thread(
                run_ostiary, ostiary_command, "approvals", "approve", pending["id"], "--config", str(config),
                *who, check=False,
            )  # fmt: skip
            assert cli.returncode == 2 and why in cli.stderr
        outsider = await _decide(base, pending["id"], keys["carol"], "approve")
        assert outsider.status_code == 403
        async with httpx2.AsyncClient(timeout=30) as other:
            hidden = await other.get(f"{base}/approvals/{pending['id']}", headers=_as(keys["carol"]))
        assert hidden.status_code == 404
        approved = await _decide(base, pending["id"], keys["bob"], "approve")
        assert approved.status_code == 200 and approved.json()["reviewer"] == "bob"
        result = await asyncio.wait_for(call, 30)
        twice = await _decide(base, pending["id"], keys["bob"], "deny")
        assert twice.status_code == 409
    await http.aclose()
    assert not result.is_error
    events = approval_events(ostiary_command, config)
    assert [(e["code"], e["principal"]) for e in events] == [
        ("approval.requested", "alice"),
        ("approval.approved", "bob"),
    ]


@pytest.mark.postgres
async def test_requested_on_one_replica_approved_on_another_the_call_resumes_on_the_first(
    held_gateway: Callable[..., Path],
    ostiary_command: list[str],
    spawn: Spawn,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    keys, records = _api_keys()
    ports = []
    from conftest import free_loopback_port, wait_for_port

    for _ in range(2):
        ports.append(free_loopback_port())
    auth = {"resource": "http://127.0.0.1/mcp", "api_keys": records}
    config = held_gateway(["group:reviewers"], auth=auth, store=postgres_url,
                          approvals={"poll_interval": 30, "heartbeat": 300})  # fmt: skip
    env = {**os.environ, "OSTIARY_STORE": postgres_url}
    procs = [
        spawn([*ostiary_command, "serve", "--config", str(config), "--port", str(p)], env=env) for p in ports
    ]
    for port, proc in zip(ports, procs, strict=True):
        wait_for_port(port, proc)
    first, second = (f"http://127.0.0.1:{p}" for p in ports)
    http = httpx2.AsyncClient(headers=_as(keys["alice"]), timeout=60)
    async with Client(streamable_http_client(f"{first}/mcp", http_client=http), mode="legacy") as client:
        call = asyncio.create_task(client.call_tool(HELD_TOOL, HELD_ARGS))
        pending = await _first_pending(second, keys["bob"])
        approved = await _decide(second, pending["id"], keys["bob"], "approve")
        assert approved.status_code == 200
        # The first replica looks at the store every 300 s: only the notification can wake it sooner.
        result = await asyncio.wait_for(call, 60)
    await http.aclose()
    assert not result.is_error and "Europe/Paris" in _text(result)


async def test_a_client_cannot_answer_for_a_reviewer_by_forging_the_retry_of_its_own_request(
    held_gateway: Callable[..., Path], ostiary_command: list[str], spawn: Spawn, free_port: int
) -> None:
    keys, records = _api_keys()
    auth = {"resource": f"http://127.0.0.1:{free_port}/mcp", "api_keys": records}
    config = held_gateway(["group:reviewers"], auth=auth, approvals={"mode": "deferred"})
    proc = spawn([*ostiary_command, "serve", "--config", str(config), "--port", str(free_port)])
    from conftest import wait_for_port

    wait_for_port(free_port, proc)
    base = f"http://127.0.0.1:{free_port}"
    http = httpx2.AsyncClient(headers=_as(keys["alice"]), timeout=60)
    async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode="2026-07-28") as client:
        asked = await client.call_tool(HELD_TOOL, HELD_ARGS)
        assert asked.is_error
        pending = await _first_pending(base, keys["bob"])
        forged = {"ostiary.approval": {"action": "accept", "content": {}}}
        with pytest.raises(MCPError) as refused:
            await client.call_tool(
                HELD_TOOL,
                HELD_ARGS,
                request_state=f"ostiary.approval:{pending['id']}",
                input_responses=forged,
            )
        assert refused.value.error.data["code"] == "approval.not_asked"
    await http.aclose()
    still = await _first_pending(base, keys["bob"])
    assert still["id"] == pending["id"] and still["status"] == "pending"


async def test_a_reviewer_sees_the_findings_and_redacted_arguments_and_a_cancelled_call_cancels_its_request(
    held_gateway: Callable[..., Path], ostiary_command: list[str], spawn: Spawn
) -> None:
    key = "AKIAZ3XQ7PLMWERT5YHU"
    watch = [{"name": "secrets", "mode": "monitor", "action": "redact"}]
    config = held_gateway(["self"], before=watch)
    base = serve(spawn, ostiary_command, config)
    async with Client(f"{base}/mcp", mode="legacy") as client:
        call = asyncio.create_task(client.call_tool(HELD_TOOL, {**HELD_ARGS, "note": f"key {key}"}))
        pending = await pending_request(ostiary_command, config)
        assert key not in str(pending)
        assert pending["arguments"]["time"] == "12:00"
        assert {"inspection": "secrets", "on": "call"}.items() <= pending["findings"][0].items()
        call.cancel()
        for _ in range(100):
            shown = run_ostiary(ostiary_command, "approvals", "show", pending["id"], "--config", str(config))
            if '"status": "cancelled"' in shown.stdout:
                break
            await asyncio.sleep(0.2)
        assert '"status": "cancelled"' in shown.stdout
    codes = [e["code"] for e in approval_events(ostiary_command, config)]
    assert codes == ["approval.requested", "approval.cancelled"]


async def test_the_api_answers_hostile_requests_with_clear_errors(
    held_gateway: Callable[..., Path], ostiary_command: list[str], spawn: Spawn
) -> None:
    config = held_gateway(["self"])
    base = serve(spawn, ostiary_command, config)
    async with httpx2.AsyncClient(timeout=30) as http:
        assert (await http.get(f"{base}/approvals")).json() == {"requests": []}
        assert (await http.get(f"{base}/approvals/apr_missing")).status_code == 404
        assert (await http.get(f"{base}/approvals/a/b")).status_code == 404
        assert (await http.put(f"{base}/approvals/apr_x")).status_code == 405
        junk = await http.post(f"{base}/approvals/apr_x", content=b"{not json")
        assert junk.status_code == 400 and junk.json()["error"] == "invalid"
        vague = await http.post(f"{base}/approvals/apr_x", json={"decision": "maybe"})
        assert vague.status_code == 400
        huge = await http.post(f"{base}/approvals/apr_x", json={"decision": "deny", "reason": "x" * 20000})
        assert huge.status_code == 413
        missing = await http.post(f"{base}/approvals/apr_x", json={"decision": "approve"})
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"
        foreign = await http.get(f"{base}/approvals", headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403
