"""No secret reaches the audit store raw, while the digest still commits to the real arguments."""

from __future__ import annotations

import pytest

from audit.traffic import call, started_log
from ostiary import secretref
from ostiary.audit.canonical import digest
from ostiary.store import SqlStore

CONFIGURED_SECRET = "upstream-credential-7f3a9c1e55"
SECRETS = {
    "password": "hunter2-correct-horse",
    "note": "use Bearer abcdefghijklmnopqrstuvwxyz012345 for the API",
    "token_in_text": "key is ghp_0123456789abcdefghijABCDEFGHIJ0123456789 ok",
    "url": "postgres://admin:s3cr3t-pass@db.internal:5432/app",
    "configured": f"prefix {CONFIGURED_SECRET} suffix",
    "nested": {"headers": {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}},
}


async def test_arguments_are_stored_redacted_and_digested_never_raw(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OSTIARY_TEST_UPSTREAM_SECRET", CONFIGURED_SECRET)
    assert secretref.resolve("${env:OSTIARY_TEST_UPSTREAM_SECRET}") == CONFIGURED_SECRET
    log, pipeline = await started_log(store)
    try:
        await call(pipeline, 1, arguments=SECRETS)
    finally:
        await log.close()
    [row] = [r async for r in store.audit_rows("main")]
    for needle in (
        "hunter2",
        "abcdefghijklmnopqrstuvwxyz012345",
        "ghp_0123456789",
        "s3cr3t-pass",
        CONFIGURED_SECRET,
        "dXNlcjpwYXNzd29yZA==",
    ):
        assert needle not in row.body
    assert "for the API" in row.body
    assert "db.internal:5432/app" in row.body
    assert f'"args_digest":"{digest(SECRETS)}"' in row.body


async def test_long_arguments_are_bounded_in_the_record(store: SqlStore):
    log, pipeline = await started_log(store)
    try:
        await call(pipeline, 1, arguments={"text": "x" * 100_000, "items": list(range(1000))})
    finally:
        await log.close()
    [row] = [r async for r in store.audit_rows("main")]
    assert len(row.body) < 5_000
    assert "[100000 chars]" in row.body
