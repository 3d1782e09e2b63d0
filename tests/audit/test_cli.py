"""`ostiary audit verify | search | export | prune`, run as the real command against a real store."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import text

from audit.traffic import KEY, call, started_log
from ostiary.config import ToolFilter
from ostiary.inspections.toolfilter import ToolFilterInspection
from ostiary.pipeline import Pipeline, Stage
from ostiary.store import SqlStore
from store.cli import ostiary, ostiary_process, write_config


async def _traffic(store: SqlStore) -> None:
    log, _ = await started_log(store, every=5)
    denying = Pipeline([Stage(ToolFilterInspection({"srv": ToolFilter(deny=["rm"])}))], [log])
    try:
        for i, (user, tool) in enumerate(
            [("alice", "echo"), ("bob", "echo"), ("bob", "rm"), ("alice", "add")] * 3
        ):
            await call(denying, i, user=user, tool=tool)
    finally:
        await log.close()


async def test_verify_exits_zero_when_intact_and_names_the_altered_record(
    store_url: str, store: SqlStore, tmp_path: Path
):
    await _traffic(store)
    config = write_config(tmp_path, store_url, KEY)
    code, out, _ = await ostiary_process("audit", "verify", "--config", str(config))
    assert code == 0
    assert "intact: records 1..12" in out
    async with store.engine.begin() as conn:
        await conn.execute(text("UPDATE audit_records SET principal = 'mallory' WHERE seq = 7"))
    code, out, _ = await ostiary("audit", "verify", "--config", str(config))
    assert code == 1
    assert "record 7" in out


async def test_verify_without_the_key_fails_rather_than_passing(
    store_url: str, store: SqlStore, tmp_path: Path
):
    await _traffic(store)
    config = tmp_path / "nokey.yaml"
    config.write_text(f"store: {store_url}\naudit: {{key_file: {tmp_path / 'absent.key'}}}\n")
    code, _, err = await ostiary("audit", "verify", "--config", str(config))
    assert code == 2
    assert "no audit key" in err


async def test_search_filters_by_principal_tool_and_verdict(store_url: str, store: SqlStore, tmp_path: Path):
    await _traffic(store)
    config = str(write_config(tmp_path, store_url, KEY))
    _, out, _ = await ostiary("audit", "search", "--config", config, "--principal", "bob", "--json")
    assert {orjson.loads(line)["user"]["name"] for line in out.splitlines()} == {"bob"}
    assert len(out.splitlines()) == 6
    _, out, _ = await ostiary("audit", "search", "--config", config, "--verdict", "deny", "--json")
    events = [orjson.loads(line) for line in out.splitlines()]
    assert [(e["ostiary"]["target"], e["event"]["code"]) for e in events] == [("rm", "toolfilter.denied")] * 3
    _, out, _ = await ostiary(
        "audit", "search", "--config", config, "--tool", "add", "--since", "1h", "--json"
    )
    assert len(out.splitlines()) == 3
    _, out, _ = await ostiary(
        "audit", "search", "--config", config, "--until", "2000-01-01T00:00:00Z", "--json"
    )
    assert out == ""


async def test_export_writes_the_documented_siem_schema(store_url: str, store: SqlStore, tmp_path: Path):
    await _traffic(store)
    config = str(write_config(tmp_path, store_url, KEY))
    target = tmp_path / "audit.jsonl"
    code, _, err = await ostiary("audit", "export", "--config", config, "--output", str(target))
    assert code == 0, err
    events = [orjson.loads(line) for line in target.read_text().splitlines()]
    assert [e["event"]["sequence"] for e in events] == list(range(1, 13))
    first = events[0]
    assert first["schema"] == "ostiary.audit/1"
    assert first["@timestamp"].endswith("Z")
    assert first["event"]["outcome"] == "success"
    assert first["event"]["action"] == "tools/call"
    assert first["user"]["name"] == "alice"
    assert first["ostiary"]["args"] == {"n": 0}
    assert len(first["ostiary"]["args_digest"]) == 64
    assert events[2]["event"]["outcome"] == "failure"


async def test_prune_deletes_old_records_and_verify_still_passes(
    store_url: str, store: SqlStore, tmp_path: Path
):
    await _traffic(store)
    config = str(write_config(tmp_path, store_url, KEY))
    code, out, _ = await ostiary("audit", "prune", "--config", config, "--older-than", "0")
    assert code == 0
    assert "pruned 12 records" in out
    code, out, _ = await ostiary("audit", "verify", "--config", config)
    assert code == 0, out
    assert [r async for r in store.audit_rows("main")] == []
