"""The inventory records what servers offer, with a risk class per tool, and `ostiary inventory` shows it."""

from __future__ import annotations

from pathlib import Path

import orjson

from ostiary import messages
from ostiary.identity import Principal
from ostiary.inventory import InventoryObserver, risk_class
from ostiary.pipeline import Exchange, Hook, Pipeline
from ostiary.store import SqlStore
from store.cli import ostiary, write_config

TOOLS = [
    {"name": "read", "annotations": {"readOnlyHint": True}},
    {"name": "search", "annotations": {"readOnlyHint": True, "openWorldHint": True}},
    {"name": "write", "annotations": {"readOnlyHint": False, "destructiveHint": False}},
    {"name": "delete", "annotations": {"destructiveHint": True}},
    {"name": "mystery"},
]


def test_risk_classes_follow_the_annotations():
    assert [risk_class(t) for t in TOOLS] == ["read-only", "open-world", "write", "destructive", "unknown"]


async def test_inventory_shows_servers_and_their_tools(store_url: str, store: SqlStore, tmp_path: Path):
    observer = InventoryObserver(store, "laptop")
    pipeline = Pipeline(observers=[observer])
    hello = messages.result(
        0,
        {
            "protocolVersion": "2025-06-18",
            "serverInfo": {"name": "files", "version": "1.4.2"},
            "capabilities": {"tools": {"listChanged": True}},
            "instructions": "Use read before write.",
        },
    )
    who = Principal(subject="alice")
    await pipeline.run(Hook.SERVER_RESPONSE, hello, Exchange(who, "s1", "initialize", server="fs"))
    listing = messages.result(1, {"tools": TOOLS})
    await pipeline.run(Hook.SERVER_RESPONSE, listing, Exchange(who, "s1", "tools/list", server="fs"))
    await observer.close()

    config = str(write_config(tmp_path, store_url, b"unused-key-for-inventory-012345", name="laptop"))
    code, out, _ = await ostiary("inventory", "--config", config, "--json")
    assert code == 0
    assert orjson.loads(out)["gateway"] == "laptop"
    server = orjson.loads(out)["servers"]["fs"]
    assert server["serverInfo"] == {"name": "files", "version": "1.4.2"}
    assert (server["protocolVersion"], server["era"]) == ("2025-06-18", "legacy")
    assert server["instructions"] == "Use read before write."
    risks = {t["name"]: t["risk"] for t in server["tools"]}
    assert risks == dict(
        zip(
            [t["name"] for t in TOOLS],
            ["read-only", "open-world", "write", "destructive", "unknown"],
            strict=True,
        )
    )
    code, out, _ = await ostiary("inventory", "--config", config)
    assert code == 0
    assert "1.4.2" in out
    assert "destructive" in out


async def test_each_gateway_sees_its_own_inventory(store_url: str, store: SqlStore, tmp_path: Path):
    who = Principal(subject="alice")
    for gateway, tools in (("laptop", TOOLS[:1]), ("quickstart", TOOLS[1:2])):
        observer = InventoryObserver(store, gateway)
        listing = messages.result(1, {"tools": tools})
        exchange = Exchange(who, "s1", "tools/list", server="fs")
        await Pipeline(observers=[observer]).run(Hook.SERVER_RESPONSE, listing, exchange)
        await observer.close()
    config = str(write_config(tmp_path, store_url, b"unused-key-for-inventory-012345", name="laptop"))
    code, out, _ = await ostiary("inventory", "--config", config, "--json")
    assert code == 0
    assert [t["name"] for t in orjson.loads(out)["servers"]["fs"]["tools"]] == [TOOLS[0]["name"]]
    _, items = await store.inventory()
    assert {(i.gateway, i.name) for i in items} == {
        ("laptop", TOOLS[0]["name"]),
        ("quickstart", TOOLS[1]["name"]),
    }
