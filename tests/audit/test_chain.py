"""The audit chain under concurrency, crash-free failure and retention, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import orjson
from sqlalchemy import text

from audit.traffic import call, calls_across, sealer, started_log
from ostiary.audit import AuditLog, verify
from ostiary.pipeline import Action
from ostiary.store import SqlStore, open_url


async def test_concurrent_sessions_on_several_replicas_keep_one_valid_chain(store_url: str, store: SqlStore):
    replicas = [store] + [await open_url(store_url) for _ in range(2)]
    try:
        decisions = await calls_across([AuditLog(r, sealer(every=50)) for r in replicas], 300)
    finally:
        for r in replicas[1:]:
            await r.close()
    assert all(d.verdict.action is Action.ALLOW for d in decisions)
    report = await verify(store, sealer())
    assert report.ok, report.problem
    assert (report.first_seq, report.last_seq, report.records) == (1, 300, 300)
    assert report.checkpoints >= 3
    ids = [orjson.loads(r.body)["request_id"] async for r in store.audit_rows("main")]
    assert sorted(ids, key=int) == [str(i) for i in range(300)]


async def test_without_a_spool_a_record_is_in_the_store_when_observe_returns(store_url: str, store: SqlStore):
    # With a spool (SQLite's default), test_spool.py shows the same of the spool.
    log, pipeline = await started_log(store, spool=False)
    await call(pipeline, 1)
    other = await open_url(store_url)
    try:
        rows = [r async for r in other.audit_rows("main")]
    finally:
        await other.close()
        await log.close()
    assert [r.seq for r in rows] == [1]
    assert (rows[0].action, rows[0].target, rows[0].principal) == ("allow", "echo", "alice")


async def test_without_a_spool_a_store_that_fails_denies_the_call(store: SqlStore):
    log, pipeline = await started_log(store, spool=False)
    async with store.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_records RENAME TO audit_records_away"))
    try:
        decision = await call(pipeline, 1)
    finally:
        await log.close()
        async with store.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE audit_records_away RENAME TO audit_records"))
    assert decision.verdict.action is Action.DENY
    assert decision.verdict.code == "observer.failed"


async def test_a_closed_audit_log_refuses_to_let_calls_through(store: SqlStore):
    log, pipeline = await started_log(store)
    await log.close()
    decision = await call(pipeline, 1)
    assert decision.verdict.code == "observer.failed"


async def test_closing_the_log_checkpoints_its_head(store: SqlStore):
    log, pipeline = await started_log(store, every=1000)
    for i in range(3):
        await call(pipeline, i)
    await log.close()
    checkpoints = await store.checkpoints("main")
    assert [(cp.kind, cp.seq) for cp in checkpoints] == [("periodic", 3)]


async def test_pruning_keeps_the_rest_of_the_log_verifiable(store: SqlStore):
    log, pipeline = await started_log(store, every=4)
    for i in range(6):
        await call(pipeline, i)
    cutoff = time.time_ns() // 1000
    for i in range(6, 10):
        await call(pipeline, i)
    await log.close()
    assert await store.prune_audit("main", cutoff, sealer()) == 6
    report = await verify(store, sealer())
    assert report.ok, report.problem
    assert (report.first_seq, report.last_seq) == (7, 10)
    async with store.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_records WHERE seq = 7"))
    report = await verify(store, sealer())
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (7, "missing")
