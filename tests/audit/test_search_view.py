"""`ostiary audit search` for a person: newest first, a page at a time with what is left said,
the reason and rule of each decision, and a table that fits the terminal."""

from __future__ import annotations

from pathlib import Path

import orjson

from audit.traffic import KEY, call, started_log
from ostiary.audit.log import CHAIN
from ostiary.cli.auditview import render
from ostiary.config import ToolFilter
from ostiary.inspections.toolfilter import ToolFilterInspection
from ostiary.pipeline import Pipeline, Stage
from ostiary.store import AuditQuery, SqlStore
from store.cli import ostiary, write_config


async def _traffic(store: SqlStore, count: int = 12) -> None:
    log, _ = await started_log(store)
    denying = Pipeline([Stage(ToolFilterInspection({"srv": ToolFilter(deny=["rm"])}))], [log])
    try:
        for i in range(count):
            await call(denying, i, user="alice", tool="rm" if i % 4 == 0 else "echo")
    finally:
        await log.close()


async def test_search_is_newest_first_and_says_how_many_more_and_how_to_see_them(
    store_url: str, store: SqlStore, tmp_path: Path
):
    await _traffic(store)
    config = str(write_config(tmp_path, store_url, KEY))
    code, out, _ = await ostiary("audit", "search", "--config", config, "--limit", "5")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["seq", "time"]
    assert [int(line.split()[0]) for line in lines[1:6]] == [12, 11, 10, 9, 8]
    assert lines[-1].startswith("7 more (showing 5 of 12)") and lines[-1].endswith("--before 8")
    code, out, _ = await ostiary("audit", "search", "--config", config, "--limit", "5", "--before", "8")
    assert [int(line.split()[0]) for line in out.splitlines()[1:6]] == [7, 6, 5, 4, 3]
    _, out, _ = await ostiary(
        "audit", "search", "--config", config, "--oldest-first", "--limit", "2", "--json"
    )
    assert [orjson.loads(line)["event"]["sequence"] for line in out.splitlines()] == [1, 2]


async def test_verdict_denied_finds_the_denials_with_their_reason(
    store_url: str, store: SqlStore, tmp_path: Path
):
    await _traffic(store)
    config = str(write_config(tmp_path, store_url, KEY))
    code, out, _ = await ostiary("audit", "search", "--config", config, "--verdict", "denied", "--wide")
    assert code == 0
    rows = out.splitlines()[1:]
    assert len(rows) == 3
    assert all(
        "toolfilter.denied" in row and "not allowed by the gateway configuration" in row for row in rows
    )


async def test_a_narrow_terminal_cuts_the_long_columns_and_keeps_seq_verdict_and_code(store: SqlStore):
    await _traffic(store, 4)
    rows = [row async for row in store.audit_rows(CHAIN, AuditQuery(newest_first=True))]
    narrow = render(rows, wide=False, width=100)
    assert all(len(line) <= 100 for line in narrow)
    assert "toolfilter.denied" in narrow[-1] and " deny " in narrow[-1]
    wide = render(rows, wide=True, width=100)
    assert any(len(line) > 100 for line in wide)
    assert "This tool is not allowed by the gateway configuration." in wide[-1]
