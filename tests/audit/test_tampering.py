"""`verify` finds every kind of tampering with the stored log and names the first bad record."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from audit.traffic import KEY, call, sealer, started_log
from ostiary.audit import HmacSealer, verify
from ostiary.store import SqlStore

RECORDS = 25
EVERY = 10  # signed checkpoints at records 10 and 20


async def _write_log(store: SqlStore) -> None:
    log, pipeline = await started_log(store, every=EVERY)
    try:
        for i in range(1, RECORDS + 1):
            await call(pipeline, i)
    finally:
        await log.close()


async def _sql(store: SqlStore, *statements: str) -> None:
    async with store.engine.begin() as conn:
        for statement in statements:
            await conn.exec_driver_sql(statement)


async def test_an_untouched_log_verifies(store: SqlStore):
    await _write_log(store)
    report = await verify(store, sealer())
    assert report.ok
    assert (report.first_seq, report.last_seq, report.records) == (1, RECORDS, RECORDS)


TAMPERING = {
    "altered arguments": (
        ["UPDATE audit_records SET body = REPLACE(body, '\"n\":12', '\"n\":99') WHERE seq = 12"],
        12,
    ),
    "altered search column": (["UPDATE audit_records SET action = 'deny' WHERE seq = 5"], 5),
    "deleted record": (["DELETE FROM audit_records WHERE seq = 8"], 8),
    "inserted record": (
        [
            "UPDATE audit_records SET seq = seq + 1000 WHERE seq >= 13",
            "UPDATE audit_records SET seq = seq - 999 WHERE seq >= 1000",
            "INSERT INTO audit_records (chain, seq, ts_us, hash, prev, principal, server, target, method,"
            " action, code, body) SELECT chain, 13, ts_us, hash, prev, principal, server, target, method,"
            " action, code, body FROM audit_records WHERE seq = 12",
        ],
        13,
    ),
    "reordered records": (
        [
            "UPDATE audit_records SET seq = -1 WHERE seq = 15",
            "UPDATE audit_records SET seq = 15 WHERE seq = 16",
            "UPDATE audit_records SET seq = 16 WHERE seq = -1",
        ],
        15,
    ),
    "tail cut beyond the last checkpoint": (
        ["DELETE FROM audit_records WHERE seq > 15", "UPDATE audit_heads SET seq = 15"],
        16,
    ),
    "tail cut, head left alone": (["DELETE FROM audit_records WHERE seq > 22"], 23),
    "forged checkpoint": (["UPDATE audit_checkpoints SET seq = 21 WHERE seq = 20"], 21),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
async def test_verify_reports_the_first_tampered_record(store: SqlStore, kind: str):
    statements, first_bad = TAMPERING[kind]
    await _write_log(store)
    await _sql(store, *statements)
    report = await verify(store, sealer())
    assert report.problem is not None, f"{kind} went unnoticed"
    assert report.problem.seq == first_bad


async def test_a_forged_record_appended_without_the_key_is_caught(store: SqlStore):
    await _write_log(store)
    forger = HmacSealer(b"not-the-key-" + KEY)
    head = [r async for r in store.audit_rows("main")][-1]
    body, digest = forger.seal(RECORDS + 1, head.hash, {"ts_us": 1, "method": "tools/call"})
    async with store.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO audit_records (chain, seq, ts_us, hash, prev, method, action, code, body)"
                " VALUES ('main', :seq, 1, :hash, :prev, 'tools/call', '', '', :body)"
            ),
            {"seq": RECORDS + 1, "hash": digest, "prev": head.hash, "body": body},
        )
    report = await verify(store, sealer())
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (RECORDS + 1, "altered")


async def test_verifying_with_another_key_fails(store: SqlStore):
    await _write_log(store)
    report = await verify(store, HmacSealer(b"another-key-entirely-0123456789"))
    assert not report.ok
