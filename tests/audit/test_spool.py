"""The audit spool (SQLite's default; PostgreSQL with `audit.spool: true`): a record is durable
once observe returns, joins the chain within milliseconds, and a killed gateway's spool is chained
exactly once by whoever opens the store next; a spool altered or removed in between is reported
by `verify`, never silently lost."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from audit.traffic import KEY, call, calls_across, sealer
from ostiary.audit import AuditLog, build_audit_observer, verify
from ostiary.audit import log as audit_log
from ostiary.config import Config, ConfigError, parse
from ostiary.pipeline import Action, Pipeline
from ostiary.store import SqlStore, StoreError, open_url, postgres_spool_dir
from ostiary.store.spool import directory_of
from ostiary.store.testing import BACKENDS, empty_store
from store.cli import ostiary_process, write_config

# Writes `count` records through a real audit log, then the process kills itself at once: what a
# gateway killed with SIGKILL right after answering leaves behind.
KILLED_GATEWAY = f"""
import asyncio, os, signal, sys
from pathlib import Path
from ostiary import messages
from ostiary.audit import AuditLog, HmacSealer
from ostiary.identity import Principal
from ostiary.pipeline import Exchange, Hook, Pipeline
from ostiary.store import open_url

async def main(url, count, extra, spools):
    store = await open_url(url, postgres_spool=Path(spools) if spools else None)
    log = AuditLog(store, HmacSealer({KEY!r}))
    await log.start()
    pipeline = Pipeline(observers=[log])
    for n in range(count):
        exchange = Exchange(Principal(subject="alice"), "s", "tools/call", server="srv", target="echo")
        arguments = {{"n": n, "note": extra}} if extra else {{"n": n}}
        message = messages.request(n, "tools/call", {{"name": "echo", "arguments": arguments}})
        decision = await pipeline.run(Hook.CLIENT_REQUEST, message, exchange)
        assert decision.verdict.action.value == "allow", decision.verdict
    print("observed", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
"""


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@dataclass(frozen=True)
class Where:
    """A store and where its gateways keep their spools."""

    url: str
    spools: Path
    postgres_spool: Path | None  # what open_url needs on PostgreSQL (SQLite keeps them beside the file)

    async def open(self) -> SqlStore:
        return await open_url(self.url, postgres_spool=self.postgres_spool)


def _sqlite(tmp_path: Path) -> Where:
    database = tmp_path / "audit.db"
    return Where(_url(database), directory_of(database), None)


@pytest.fixture(params=BACKENDS)
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Where:
    if request.param == "sqlite":
        return _sqlite(tmp_path)
    url: str = request.getfixturevalue("postgres_url")
    return Where(url, tmp_path / "spool", tmp_path / "spool")


@pytest.fixture
async def where(place: Where) -> Where:
    """`place`, with the PostgreSQL database (one per test session) emptied first."""
    await (await empty_store(place.url)).close()
    return place


def _killed_gateway(where: Where, count: int, note: str = "") -> Path:
    """Run a gateway that records `count` calls and is killed; returns its spool directory."""
    spools = str(where.postgres_spool or "")
    done = subprocess.run(
        [sys.executable, "-c", KILLED_GATEWAY, where.url, str(count), note, spools],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == -9 and "observed" in done.stdout, done.stderr
    return where.spools


async def _gateway(where: Where, every: int = 1000) -> tuple[SqlStore, AuditLog, Pipeline]:
    """A store, its started audit log (with a spool) and a pipeline observed by it."""
    store = await where.open()
    log = AuditLog(store, sealer(every))
    await log.start()
    return store, log, Pipeline(observers=[log])


def _hold(database: Path) -> sqlite3.Connection:
    """Another gateway in the middle of a write: it holds the database's write lock."""
    holder = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


async def _request_ids(store: SqlStore) -> list[int]:
    return [int(orjson.loads(row.body)["request_id"]) async for row in store.audit_rows("main")]


async def test_a_record_spooled_before_the_gateway_is_killed_is_chained_once_on_recovery(where: Where):
    spools = _killed_gateway(where, 3)
    [left] = list(spools.glob("*.jsonl"))
    assert len(left.read_bytes().splitlines()) == 3  # durable when observe returned...
    store = await where.open()
    try:
        assert await _request_ids(store) == []  # ...though not chained before the kill
        assert await store.recover_spools(sealer()) == 3
        assert await store.recover_spools(sealer()) == 0
        ids = await _request_ids(store)
        report = await verify(store, sealer())
    finally:
        await store.close()
    assert ids == [0, 1, 2]
    assert report.ok and report.records == 3, report
    assert list(spools.iterdir()) == []


async def test_a_credential_in_the_arguments_never_reaches_the_spool(tmp_path: Path):
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    spools = _killed_gateway(_sqlite(tmp_path), 1, f"use token {token} please")
    [spool] = list(spools.glob("*.jsonl"))
    assert b"please" in spool.read_bytes()
    assert token.encode() not in spool.read_bytes()


async def test_a_starting_gateway_chains_what_a_killed_one_left(where: Where):
    _killed_gateway(where, 2)
    store = await where.open()
    log = AuditLog(store, sealer())
    await log.start()
    try:
        await call(Pipeline(observers=[log]), 7)
    finally:
        await log.close()
    ids = await _request_ids(store)
    report = await verify(store, sealer())
    await store.close()
    assert ids == [0, 1, 7]
    assert report.ok, report.problem


async def test_spooled_records_reach_the_chain_within_milliseconds(where: Where):
    store = await where.open()
    reader = await where.open()
    log = AuditLog(store, sealer())
    await log.start()
    try:
        [spool] = list(where.spools.glob("*.jsonl"))
        assert stat.S_IMODE(spool.stat().st_mode) == 0o600
        assert stat.S_IMODE(spool.parent.stat().st_mode) == 0o700
        await call(Pipeline(observers=[log]), 1)
        started, ids = time.monotonic(), []
        while not ids and time.monotonic() - started < 5:
            await asyncio.sleep(0.001)
            ids = await _request_ids(reader)
        waited = time.monotonic() - started
    finally:
        await log.close()
        await reader.close()
    await store.close()
    assert ids == [1]
    assert waited < 1, waited
    assert not spool.exists()  # a closing gateway chains its spool and removes it


def _rewrite(spool: Path, lines: list[bytes]) -> None:
    spool.write_bytes(b"".join(line + b"\n" for line in lines))


def _alter(spool: Path) -> None:
    lines = spool.read_bytes().splitlines()
    lines[2] = lines[2].replace(b'"n":2', b'"n":9')
    _rewrite(spool, lines)


def _drop(spool: Path) -> None:
    lines = spool.read_bytes().splitlines()
    _rewrite(spool, lines[:2] + lines[3:])


def _swap(spool: Path) -> None:
    lines = spool.read_bytes().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    _rewrite(spool, lines)


TAMPERING = {"altered": _alter, "removed line": _drop, "reordered": _swap}


@pytest.mark.parametrize("kind", list(TAMPERING))
async def test_a_tampered_spool_is_chained_up_to_the_change_and_reported(where: Where, kind: str):
    spools = _killed_gateway(where, 5)
    [spool] = list(spools.glob("*.jsonl"))
    TAMPERING[kind](spool)
    store = await where.open()
    try:
        assert await store.recover_spools(sealer()) == 2
        ids = await _request_ids(store)
        report = await verify(store, sealer())
    finally:
        await store.close()
    assert ids == [0, 1]
    assert report.problem is not None and report.problem.kind == "spool"
    assert "tampered" in report.problem.detail and "line 3" in report.problem.detail
    kept = sorted(p.name for p in spools.iterdir())  # kept for the operator, with its high-water mark
    assert kept == [spool.name + ".hwm.tampered", spool.name + ".tampered"]


def _cut_whole_lines(spool: Path) -> None:
    _rewrite(spool, spool.read_bytes().splitlines()[:2])


def _cut_mid_line(spool: Path) -> None:
    data = spool.read_bytes()
    spool.write_bytes(data[: len(data) - 40])


def _cut_to_nothing(spool: Path) -> None:
    spool.write_bytes(b"")


CUTS = {"whole lines": _cut_whole_lines, "mid-line": _cut_mid_line, "zero bytes": _cut_to_nothing}


@pytest.mark.parametrize("cut", list(CUTS))
async def test_a_spool_cut_short_after_its_gateway_was_killed_is_reported_by_name(where: Where, cut: str):
    spools = _killed_gateway(where, 5)
    [spool] = list(spools.glob("*.jsonl"))
    CUTS[cut](spool)
    store = await where.open()
    try:
        await store.recover_spools(sealer())
        report = await verify(store, sealer())
    finally:
        await store.close()
    assert report.problem is not None and report.problem.kind == "spool", report
    name = spool.name.removesuffix(".jsonl")
    assert name in report.problem.detail and "cut short" in report.problem.detail
    assert "acknowledged 5 records" in report.problem.detail


async def test_a_removed_spool_is_reported(where: Where):
    spools = _killed_gateway(where, 2)
    for spool in spools.glob("*.jsonl"):
        spool.unlink()
    store = await where.open()
    try:
        assert await store.recover_spools(sealer()) == 0
        report = await verify(store, sealer())
    finally:
        await store.close()
    assert report.problem is not None and report.problem.kind == "spool"
    assert "missing" in report.problem.detail


async def test_a_spool_file_the_store_never_made_is_not_chained(where: Where):
    spools = _killed_gateway(where, 1)
    [real] = list(spools.glob("*.jsonl"))
    (spools / "1-forged.jsonl").write_bytes(real.read_bytes())
    store = await where.open()
    try:
        assert await store.recover_spools(sealer()) == 1
        report = await verify(store, sealer())
    finally:
        await store.close()
    assert report.problem is not None and "never registered" in report.problem.detail
    assert report.records == 1


async def test_an_unfinished_last_line_is_left_out_and_the_rest_chained(where: Where):
    spools = _killed_gateway(where, 2)
    [spool] = list(spools.glob("*.jsonl"))
    with spool.open("ab") as handle:
        handle.write(b'0123456789abcdef {"half a rec')
    store = await where.open()
    try:
        assert await store.recover_spools(sealer()) == 2
        report = await verify(store, sealer())
    finally:
        await store.close()
    assert report.ok and report.records == 2, report
    assert list(spools.iterdir()) == []


async def test_verify_command_chains_a_killed_gateways_spool(tmp_path: Path):
    database = tmp_path / "audit.db"
    _killed_gateway(_sqlite(tmp_path), 4)
    config = write_config(tmp_path, _url(database), KEY)
    code, out, err = await ostiary_process("audit", "verify", "--config", str(config))
    assert code == 0, err
    assert "intact: records 1..4" in out


async def test_a_full_spool_is_replaced_and_removed_once_chained(
    where: Where, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(audit_log, "SPOOL_ROTATE_BYTES", 4000)
    store, log, pipeline = await _gateway(where, every=10)
    most = 0
    try:
        for n in range(60):
            assert (await call(pipeline, n)).verdict.action is Action.ALLOW
            await asyncio.sleep(0.002)
            most = max(most, len(list(where.spools.glob("*.jsonl"))))
    finally:
        await log.close()
    async with store.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT count(*) FROM audit_spools"))).scalar()
    ids = await _request_ids(store)
    report = await verify(store, sealer(every=10))
    await store.close()
    assert report.ok and ids == list(range(60)), report
    assert report.checkpoints >= 6
    assert 1 <= most <= 2
    assert rows == 0 and list(where.spools.iterdir()) == []


async def test_a_failing_store_stops_calls_once_seen_and_loses_no_spooled_record(where: Where):
    store, log, pipeline = await _gateway(where)
    allowed: list[int] = []
    refused = 0

    async def attempt(n: int) -> None:
        nonlocal refused
        decision = await call(pipeline, n)
        if decision.verdict.action is Action.ALLOW:
            allowed.append(n)
        else:
            assert decision.verdict.code == "observer.failed"
            refused += 1

    try:
        await attempt(0)
        async with store.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE audit_records RENAME TO audit_records_away"))
        # Calls for twice the longest a spooled record waits to be chained: the first attempt
        # to chain fails within that time, and every call after it is refused.
        n, until = 1, time.monotonic() + 2 * audit_log.SPOOL_INGEST_AFTER
        while time.monotonic() < until:
            await attempt(n)
            await asyncio.sleep(0.005)
            n += 1
        async with store.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE audit_records_away RENAME TO audit_records"))
        await asyncio.sleep(audit_log.SPOOL_FAULT_RETRY + 0.3)
        await attempt(n)
    finally:
        await log.close()
    ids = await _request_ids(store)
    report = await verify(store, sealer())
    await store.close()
    assert refused > (n - 1) // 4  # stopped once the failed commit was seen
    assert allowed[-1] == n  # and going again once the store takes records
    assert ids == allowed  # every call that went through is in the chain, no other
    assert report.ok, report.problem


async def test_another_gateway_holding_the_database_does_not_hold_up_calls(tmp_path: Path):
    path = tmp_path / "audit.db"
    store, log, pipeline = await _gateway(_sqlite(tmp_path))
    holder = _hold(path)
    release = threading.Timer(0.5, holder.execute, args=("COMMIT",))
    release.start()
    slowest = 0.0
    try:
        for n in range(20):
            started = time.monotonic()
            assert (await call(pipeline, n)).verdict.action is Action.ALLOW
            slowest = max(slowest, time.monotonic() - started)
            await asyncio.sleep(0.005)
    finally:
        release.join()
        holder.close()
        await log.close()
    ids = await _request_ids(store)
    await store.close()
    assert slowest < 0.1, slowest  # nobody waited for the other gateway's half second
    assert ids == list(range(20))


async def test_calls_stop_when_the_spool_runs_too_far_ahead_of_the_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(audit_log, "SPOOL_LIMIT", 5)
    path = tmp_path / "audit.db"
    store, log, pipeline = await _gateway(_sqlite(tmp_path))
    holder = _hold(path)
    try:
        verdicts = [(await call(pipeline, n)).verdict.action for n in range(7)]
        holder.execute("COMMIT")
    finally:
        holder.close()
        await log.close()
    ids = await _request_ids(store)
    await store.close()
    assert verdicts == [Action.ALLOW] * 5 + [Action.DENY] * 2
    assert ids == [0, 1, 2, 3, 4]


async def test_a_spool_that_cannot_be_created_stops_the_audit_log_from_starting(tmp_path: Path):
    database = tmp_path / "audit.db"
    store = await open_url(_url(database))
    directory_of(database).write_text("in the way")  # a file where the spool directory belongs
    log = AuditLog(store, sealer())
    try:
        with pytest.raises(StoreError, match="spool"):
            await log.start()
    finally:
        await store.close()


async def test_audit_spool_false_commits_directly_and_a_non_boolean_is_refused(tmp_path: Path):
    database = tmp_path / "audit.db"
    store = await open_url(_url(database))
    key = {"checkpoint_key": KEY.decode()}
    try:
        with pytest.raises(ConfigError, match=r"line 1: audit\.spool: Input should be a valid boolean"):
            parse("audit: {spool: maybe}")
        log = build_audit_observer(store, Config(audit={**key, "spool": False}))
        await log.start()
        try:
            await call(Pipeline(observers=[log]), 1)
            ids = await _request_ids(store)  # committed before observe returned
        finally:
            await log.close()
    finally:
        await store.close()
    assert ids == [1]
    assert not directory_of(database).exists()


@pytest.mark.postgres
async def test_replicas_sharing_a_postgresql_database_each_recover_only_their_own_spools(
    postgres_url: str, tmp_path: Path
):
    await (await empty_store(postgres_url)).close()
    first = Where(postgres_url, tmp_path / "first", tmp_path / "first")
    second = Where(postgres_url, tmp_path / "second", tmp_path / "second")
    _killed_gateway(first, 3)
    other = await second.open()
    try:
        assert await other.recover_spools(sealer()) == 0  # not its spool: nothing done, nothing reported
        assert (await verify(other, sealer())).ok
    finally:
        await other.close()
    own = await first.open()
    try:
        assert await own.recover_spools(sealer()) == 3
        report = await verify(own, sealer())
    finally:
        await own.close()
    assert report.ok and report.records == 3, report


def test_a_postgresql_spool_is_kept_only_when_asked_for_and_where_configured(tmp_path: Path):
    base = {"checkpoint_key": KEY.decode()}
    assert postgres_spool_dir(Config(audit=base)) is None
    assert postgres_spool_dir(Config(audit={**base, "spool": False})) is None
    configured = Config(audit={**base, "spool": True, "spool_dir": "spools"}, base_dir=str(tmp_path))
    assert postgres_spool_dir(configured) == tmp_path / "spools"
    assert postgres_spool_dir(Config(audit={**base, "spool": True})) is not None  # the user's data directory


async def test_replicas_each_with_a_spool_keep_one_valid_chain_under_concurrent_sessions(
    place: Where, tmp_path: Path
):
    # On SQLite three gateways on one file; on PostgreSQL three replicas, each its own spool.
    await (await empty_store(place.url)).close()
    wheres = [place] + [
        place if place.postgres_spool is None else Where(place.url, tmp_path / f"r{i}", tmp_path / f"r{i}")
        for i in (1, 2)
    ]
    stores = [await w.open() for w in wheres]
    decisions = await calls_across([AuditLog(s, sealer(every=50)) for s in stores], 300)
    report = await verify(stores[0], sealer())
    ids = sorted(await _request_ids(stores[0]))
    for store in stores:
        await store.close()
    assert all(d.verdict.action is Action.ALLOW for d in decisions)
    assert report.ok and report.records == 300, report
    assert report.checkpoints >= 6
    assert ids == list(range(300))


async def test_a_spool_directory_others_can_read_is_made_private(tmp_path: Path):
    where = _sqlite(tmp_path)
    where.spools.mkdir(mode=0o755)
    where.spools.chmod(0o755)
    store, log, _ = await _gateway(where)
    try:
        assert stat.S_IMODE(where.spools.stat().st_mode) == 0o700
    finally:
        await log.close()
        await store.close()


async def test_records_are_never_chained_twice_from_one_spool(where: Where):
    store = await where.open()
    try:
        spool = await store.open_spool("main", sealer())
        assert spool is not None
        body = {"ts_us": 1, "method": "tools/call", "action": "allow", "code": "allow", "n": 1}
        mark = spool.write(orjson.dumps(body))
        await store.append_audit("main", [body], sealer(), mark)
        with pytest.raises(StoreError):
            await store.append_audit("main", [body], sealer(), mark)  # a retry after a lost answer
        await store.retire_spool(spool)
        report = await verify(store, sealer())
    finally:
        await store.close()
    assert report.ok and report.records == 1, report


async def test_search_chains_a_killed_gateways_spool_and_still_reads_when_it_cannot(tmp_path: Path):
    where = _sqlite(tmp_path)
    _killed_gateway(where, 2)
    config = str(write_config(tmp_path, where.url, KEY))
    code, out, err = await ostiary_process("audit", "search", "--config", config, "--json", "--oldest-first")
    assert code == 0, err
    assert len(out.splitlines()) == 2  # the killed gateway's records, chained by the search
    _killed_gateway(where, 3)
    store = await where.open()
    try:
        async with store.engine.begin() as conn:  # a store this reader cannot write to
            await conn.execute(text("ALTER TABLE audit_spools RENAME TO audit_spools_away"))
    finally:
        await store.close()
    code, out, err = await ostiary_process("audit", "search", "--config", config, "--json", "--oldest-first")
    assert code == 0, err
    assert len(out.splitlines()) == 2  # what is chained is still read...
    assert "could not be chained" in err  # ...and the user is told what is not
