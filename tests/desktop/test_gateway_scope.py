"""Two gateways of one user share the default store: each keeps its own pins, inventory and audit
records, so a quick start's `time` pins never quarantine the user's own `time` server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import orjson
import pytest
import yaml
from mcp import Client, StdioServerParameters

from ostiary.config import load
from ostiary.store import open_store

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def _tools(config: Path, env: dict[str, str]) -> set[str]:
    ostiary = str(Path(sys.executable).parent / "ostiary")
    params = StdioServerParameters(command=ostiary, args=["run", "--config", str(config)], env=env)
    async with Client(params, mode="legacy") as client:
        return {tool.name for tool in (await client.list_tools()).tools}


async def test_two_gateways_with_a_time_server_each_keep_their_pins_inventory_and_records_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OSTIARY_STORE": store_url}
    (tmp_path / "examples").mkdir()
    quickstart = tmp_path / "examples" / "quickstart.yaml"
    utc = {"command": "mcp-server-time", "args": ["--local-timezone", "UTC"]}
    quickstart.write_text(yaml.safe_dump({"servers": {"time": utc}}), encoding="utf-8")
    mine = tmp_path / "claude_desktop_config.json"
    paris = {"command": "mcp-server-time", "args": ["--local-timezone", "Europe/Paris"]}
    mine.write_text(json.dumps({"mcpServers": {"time": paris}}), encoding="utf-8")

    expected = {"time__get_current_time", "time__convert_time"}
    assert await _tools(quickstart, env) == expected
    # Its definitions name another timezone: under one shared pin set they would be held.
    assert await _tools(mine, env) == expected

    first, second = load(quickstart).name, load(mine).name
    assert first != second
    monkeypatch.setenv("OSTIARY_STORE", store_url)
    ostiary = str(Path(sys.executable).parent / "ostiary")
    shown = await anyio.run_process([ostiary, "inventory", "--config", str(mine), "--json"], env=env)
    document = orjson.loads(shown.stdout)
    assert document["gateway"] == second
    described = {t["name"]: t["pin"] for t in document["servers"]["time"]["tools"]}
    assert described == {"get_current_time": "trusted", "convert_time": "trusted"}

    store = await open_store(load(mine))
    try:
        pinned = {p.name: p.fingerprint for p in await store.load_pins(first)}
        assert {p.name: p.fingerprint for p in await store.load_pins(second)} != pinned
        servers, _ = await store.inventory()
        assert sorted(s.gateway for s in servers) == sorted([first, second])
        gateways = {orjson.loads(row.body).get("gateway") async for row in store.audit_rows("main")}
    finally:
        await store.close()
    assert gateways == {first, second}
