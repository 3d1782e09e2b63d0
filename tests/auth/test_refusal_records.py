"""A refused authentication on `ostiary serve` leaves an audit record (who tried, from where,
why), and a flood of them cannot fill the store: records are rate-limited."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest

from audit.traffic import KEY, sealer
from auth.issuer import ISSUER, Issuer
from conftest import free_loopback_port, stop_process_group, wait_for_port
from ostiary.audit import verify
from ostiary.audit.refusals import BURST
from ostiary.store import open_url

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]
KEY_ENV = "OSTIARY_TEST_AUDIT_KEY"
FLOOD = 200
BAD_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.not-a-signature-at-all"


async def test_refused_authentications_are_recorded_and_rate_limited(
    issuer: Issuer,
    tmp_path: Path,
    write_config: Callable[..., Path],
    spawn: Callable[..., subprocess.Popen[bytes]],
    ostiary_command: list[str],
) -> None:
    port = free_loopback_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    spec: dict[str, Any] = {
        "servers": {},
        "audit": {"checkpoint_key": f"${{env:{KEY_ENV}}}"},
        "auth": {
            "resource": resource,
            "authorization_servers": [ISSUER],
            "jwt": {"issuer": ISSUER, "jwks_url": issuer.url},
        },
    }
    config = write_config(spec)
    os.environ[KEY_ENV] = KEY.decode()
    proc = spawn([*ostiary_command, "serve", "--config", str(config), "--port", str(port)])
    wait_for_port(port, proc)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream", "User-Agent": "flood/1"}
    async with httpx2.AsyncClient(timeout=10) as http:
        for n in range(FLOOD):
            headers = {**accept, "Authorization": f"Bearer {BAD_TOKEN}"} if n % 2 else accept
            response = await http.post(resource, json=body, headers=headers)
            assert response.status_code == 401
    stop_process_group(proc)  # SIGTERM: the audit log chains its spool and closes

    store = await open_url(f"sqlite+aiosqlite:///{tmp_path / 'ostiary.db'}")
    try:
        await store.recover_spools(sealer())
        rows = [row async for row in store.audit_rows("main")]
        report = await verify(store, sealer())
    finally:
        await store.close()
    refusals = [orjson.loads(row.body) for row in rows if row.method == "auth/refused"]
    assert 1 <= len(refusals) <= BURST + 10, f"{len(refusals)} records for {FLOOD} refusals"
    first = refusals[0]
    assert first["action"] == "deny" and first["code"].startswith("auth.")
    assert first["client_address"] == "127.0.0.1" and first["user_agent"] == "flood/1"
    assert first["status"] == 401 and first["reason"]
    with_token = [r for r in refusals if r["credential"] is not None]
    assert with_token and len({r["credential"] for r in with_token}) == 1
    assert all(BAD_TOKEN not in row.body and "not-a-signature" not in row.body for row in rows)
    assert report.ok, report.problem
