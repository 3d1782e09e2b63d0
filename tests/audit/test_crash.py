"""A gateway killed with SIGKILL mid-traffic has a record for every result its client received."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from audit.traffic import KEY, sealer
from ostiary.audit import verify
from ostiary.store import SqlStore, open_url
from ostiary.store.testing import empty_store
from store.cli import KEY_ENV, write_config

CALLS = 200
KILL_AFTER = 20
TOOL = {"name": "time__get_current_time", "arguments": {"timezone": "UTC"}}
TIME_SERVER = {
    "command": str(Path(sys.executable).parent / "mcp-server-time"),
    "args": ["--local-timezone", "UTC"],
}


async def _send(proc: asyncio.subprocess.Process, message: dict[str, Any]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(message).encode() + b"\n")
    await proc.stdin.drain()


async def _next(proc: asyncio.subprocess.Process, wait: float = 60) -> dict[str, Any] | None:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), wait)
    return json.loads(line) if line else None


async def _traffic(proc: asyncio.subprocess.Process) -> None:
    for n in range(CALLS):
        await _send(proc, {"jsonrpc": "2.0", "id": 1000 + n, "method": "tools/call", "params": TOOL})
        if n % 10 == 9:
            await asyncio.sleep(0.01)


async def _kill_mid_traffic(config: Path) -> set[str]:
    """Run `ostiary run` with `config`, send calls, SIGKILL it mid-traffic; the ids of the results
    the client received."""
    env = {k: v for k, v in os.environ.items() if k != "OSTIARY_STORE"}
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "ostiary"), "run", "--config", str(config),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env=env, start_new_session=True, limit=1 << 20,
    )  # fmt: skip
    received: set[str] = set()
    writer: asyncio.Task[None] | None = None
    try:
        hello = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "crash", "version": "1"},
        }
        await _send(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello})
        assert (await _next(proc)) is not None
        await _send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        writer = asyncio.create_task(_traffic(proc))
        while len(received) < KILL_AFTER:
            message = await _next(proc)
            assert message is not None, "the gateway stopped before it was killed"
            if "result" in message and not message["result"].get("isError"):
                received.add(str(message["id"]))
        os.kill(proc.pid, signal.SIGKILL)
        # Whatever the gateway wrote before it died has reached the client: it counts too.
        while (message := await _next(proc, wait=10)) is not None:
            if "result" in message:
                received.add(str(message["id"]))
    finally:
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await writer
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()

    assert KILL_AFTER <= len(received) < CALLS, "the gateway was not killed in the middle of traffic"
    return received


async def _assert_recorded(store: SqlStore, received: set[str]) -> None:
    recorded = {
        body["request_id"]
        async for row in store.audit_rows("main")
        if (body := orjson.loads(row.body))["hook"] == "on_server_response" and body["method"] == "tools/call"
    }
    assert received <= recorded, f"results without a record: {sorted(received - recorded)}"
    report = await verify(store, sealer())
    assert report.ok, report.problem


@pytest.mark.e2e
async def test_every_result_the_client_received_is_recorded_after_sigkill(
    store_url: str, store: SqlStore, tmp_path: Path
):
    config = write_config(tmp_path, store_url, KEY, servers={"time": TIME_SERVER})
    received = await _kill_mid_traffic(config)
    # What the killed gateway had spooled but not yet chained (SQLite's default) joins the chain
    # when the store is next opened by a gateway or `ostiary audit`.
    await store.recover_spools(sealer())
    await _assert_recorded(store, received)


@pytest.mark.e2e
@pytest.mark.postgres
async def test_with_a_postgresql_spool_every_result_received_is_recorded_after_sigkill(
    postgres_url: str, tmp_path: Path
):
    store = await empty_store(postgres_url)
    spools = tmp_path / "spool"
    audit = {"checkpoint_key": f"${{env:{KEY_ENV}}}", "spool": True, "spool_dir": str(spools)}
    config = write_config(tmp_path, postgres_url, KEY, servers={"time": TIME_SERVER}, audit=audit)
    try:
        received = await _kill_mid_traffic(config)
        assert list(spools.glob("*.jsonl")), "the killed gateway left no spool"
        reopened = await open_url(postgres_url, postgres_spool=spools)  # as the next gateway does
        try:
            assert await reopened.recover_spools(sealer()) > 0
        finally:
            await reopened.close()
        await _assert_recorded(store, received)
    finally:
        await store.close()
