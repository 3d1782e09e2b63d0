"""SQLite at synchronous=NORMAL (the default): chain writes on the event loop when the database is
free, in a worker thread when another gateway holds it, and one valid chain either way. Records
reach these writes from the audit spool (test_spool.py) or, with `audit.spool: false`, directly."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from audit.traffic import call, sealer
from ostiary.audit import AuditLog, verify
from ostiary.pipeline import Action, Pipeline
from ostiary.store import open_url


async def test_gateways_sharing_one_sqlite_file_keep_one_valid_chain(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    stores = [await open_url(url, "normal") for _ in range(3)]
    assert all(s.inline_writer is not None for s in stores)
    logs = [AuditLog(s, sealer(every=50)) for s in stores]
    for log in logs:
        await log.start()
    try:
        pipelines = [Pipeline(observers=[log]) for log in logs]
        decisions = await asyncio.gather(*(call(pipelines[i % 3], i) for i in range(240)))
    finally:
        for log in logs:
            await log.close()
    report = await verify(stores[0], sealer())
    for store in stores:
        await store.close()
    assert all(d.verdict.action is Action.ALLOW for d in decisions)
    assert report.ok, report.problem
    assert report.records == 240


async def test_without_a_spool_a_locked_database_neither_stalls_the_gateway_nor_loses_the_record(
    tmp_path: Path,
) -> None:
    path = tmp_path / "busy.db"
    store = await open_url(f"sqlite+aiosqlite:///{path}", "normal")
    log = AuditLog(store, sealer(every=1000), spool=False)
    await log.start()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another gateway in the middle of its own write
    release = threading.Timer(0.5, holder.execute, args=("COMMIT",))
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        started = time.monotonic()
        release.start()
        decision = await call(Pipeline(observers=[log]), 1)
        waited = time.monotonic() - started
    finally:
        ticker.cancel()
        release.join()
        holder.close()
        await log.close()
    report = await verify(store, sealer())
    await store.close()
    assert decision.verdict.action is Action.ALLOW
    assert waited >= 0.4  # it really waited for the other writer...
    assert ticks >= 20  # ...while the event loop kept running
    assert report.ok and report.records == 1


@pytest.mark.parametrize("synchronous", ["normal", "full"])
async def test_without_a_spool_a_failing_sqlite_store_denies_the_call_on_either_write_path(
    tmp_path: Path, synchronous: str
) -> None:
    store = await open_url(f"sqlite+aiosqlite:///{tmp_path / 'gone.db'}", synchronous)
    log = AuditLog(store, sealer(), spool=False)
    await log.start()
    pipeline = Pipeline(observers=[log])
    try:
        assert (await call(pipeline, 1)).verdict.action is Action.ALLOW
        async with store.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE audit_records RENAME TO audit_records_away"))
        refused = await call(pipeline, 2)
        async with store.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE audit_records_away RENAME TO audit_records"))
        recovered = await call(pipeline, 3)
    finally:
        await log.close()
    report = await verify(store, sealer())
    await store.close()
    assert (refused.verdict.action, refused.verdict.code) == (Action.DENY, "observer.failed")
    assert recovered.verdict.action is Action.ALLOW
    assert report.ok and report.records == 2


async def test_with_synchronous_full_the_chain_is_written_in_a_worker_thread(tmp_path: Path) -> None:
    store = await open_url(f"sqlite+aiosqlite:///{tmp_path / 'full.db'}", "full")
    assert store.inline_writer is None and store.writer is not None
    log = AuditLog(store, sealer(every=7))
    await log.start()
    pipeline = Pipeline(observers=[log])
    try:
        decisions = [await call(pipeline, i) for i in range(50)]
    finally:
        await log.close()
    report = await verify(store, sealer())
    await store.close()
    assert all(d.verdict.action is Action.ALLOW for d in decisions)
    assert report.ok and report.records == 50 and report.checkpoints >= 7


async def _inline_records(path: Path, count: int) -> tuple[int, int]:
    """Write `count` records through the audit log on the inline path, one commit each (no spool:
    spooled records share commits, which write far fewer pages); the database file's and the
    WAL's sizes right after (closing the last connection checkpoints and removes the WAL)."""
    store = await open_url(f"sqlite+aiosqlite:///{path}", "normal")
    log = AuditLog(store, sealer(every=100_000), spool=False)
    await log.start()
    pipeline = Pipeline(observers=[log])
    try:
        for n in range(count):
            await call(pipeline, n, arguments={"n": n, "text": "x" * 2000})
        await asyncio.sleep(0.5)  # the last checkpoint in the worker thread, if one is running
        sizes = path.stat().st_size, path.with_name(path.name + "-wal").stat().st_size
    finally:
        await log.close()
    report = await verify(store, sealer())
    await store.close()
    assert report.ok and report.records == count, report
    return sizes


async def test_the_wal_is_copied_into_the_database_from_a_worker_thread(tmp_path: Path) -> None:
    # The inline connection does not checkpoint on the event loop until its WAL is large (an
    # fsync there would stall every session): the store checkpoints from a worker thread.
    database, _ = await _inline_records(tmp_path / "copied.db", 1000)
    # 1,000 records (~6,000 WAL pages, under the inline connection's own bound) are in the file.
    assert database > 1024 * 1024, database


async def test_the_wal_stays_bounded_under_steady_writes(tmp_path: Path) -> None:
    _, wal = await _inline_records(tmp_path / "bounded.db", 2500)
    # Unbounded, 2,500 commits of six 4 KB pages would leave a WAL of about 60 MB.
    assert wal < 48 * 1024 * 1024, wal
