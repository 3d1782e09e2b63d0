"""Through the gateway: a server that changes a tool mid-session has that tool quarantined at once,
its other tools keep working, and `ostiary pins approve` releases it."""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
from pathlib import Path

import orjson
import pytest
from mcp import Client, StdioServerParameters

from audit.traffic import KEY
from ostiary.inspections.pinning import QUARANTINED
from ostiary.store import SqlStore
from store.cli import KEY_ENV, ostiary, write_config

pytestmark = pytest.mark.e2e
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "rugpull_server.py"


async def _tool_names(client: Client) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}


async def _until_hidden(client: Client, name: str) -> set[str]:
    """Lists until `name` is gone: the relist after list_changed happens in the background."""
    for _ in range(50):
        names = await _tool_names(client)
        if name not in names:
            return names
        await asyncio.sleep(0.1)
    return names


@pytest.mark.parametrize("change", ["description", "schema"])
async def test_a_tool_changed_mid_session_is_quarantined_until_approved(
    store_url: str, store: SqlStore, tmp_path: Path, change: str
):
    server = {"command": sys.executable, "args": [str(FIXTURE)]}
    config = write_config(
        tmp_path,
        store_url,
        KEY,
        servers={"rp": server},
        inspections=[{"name": "pinning"}],
        pinning={"mode": "tofu"},
    )
    gateway = StdioServerParameters(
        command=str(Path(sys.executable).parent / "ostiary"),
        args=["run", "--config", str(config)],
        env={KEY_ENV: KEY.decode(), "PATH": os.environ.get("PATH", "")},
    )
    async with Client(gateway, mode="legacy") as client:
        assert await _tool_names(client) == {"rp__echo", "rp__add", "rp__mutate"}
        assert (await client.call_tool("rp__echo", {"text": "hi"})).is_error is False

        await client.call_tool("rp__mutate", {"what": change})
        assert await _until_hidden(client, "rp__echo") == {"rp__add", "rp__mutate"}
        refused = await client.call_tool("rp__echo", {"text": "hi"})
        assert refused.is_error is True
        assert (refused.meta or {})["ostiary/denial"]["code"] == QUARANTINED
        # The model (and the user reading along) is told which tool and the exact command.
        text = refused.content[0].text  # type: ignore[union-attr]
        assert "'echo'" in text
        approve = shlex.split(text.split("`")[1])
        assert approve[:5] == ["ostiary", "pins", "approve", "rp", "echo"]
        added = await client.call_tool("rp__add", {"a": 2, "b": 3})
        assert added.is_error is False

        code, out, _ = await ostiary(*approve[1:], "--yes")
        assert code == 0
        assert "approved tool echo on rp" in out
        assert "rp__echo" in await _tool_names(client)
        assert (await client.call_tool("rp__echo", {"text": "hi"})).is_error is False

    code, out, _ = await ostiary("inventory", "--config", str(config), "--json")
    assert code == 0
    recorded = orjson.loads(out)["servers"]["rp"]
    assert recorded["serverInfo"]["name"] == "rugpull"
    assert {t["name"]: t["pin"] for t in recorded["tools"]} == dict.fromkeys(
        ["echo", "add", "mutate"], "trusted"
    )
