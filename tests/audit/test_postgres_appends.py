"""PostgreSQL appends: one statement against the head a replica last saw, re-read when another
replica moved it, and the commit durability the operator chose."""

from __future__ import annotations

import pytest

from audit.traffic import call, sealer
from ostiary.audit import AuditLog, verify
from ostiary.pipeline import Action, Pipeline
from ostiary.store import StoreError, open_url
from ostiary.store.testing import empty_store

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("commit", ["on", "off"])
async def test_replicas_taking_turns_link_every_record_to_the_other_ones(
    postgres_url: str, commit: str
) -> None:
    first = await empty_store(postgres_url)
    second = await open_url(postgres_url, postgres_synchronous_commit=commit)
    logs = [AuditLog(first, sealer(every=5)), AuditLog(second, sealer(every=5))]
    for log in logs:
        await log.start()
    pipelines = [Pipeline(observers=[log]) for log in logs]
    try:
        # Each replica's next record follows one the other wrote: its cached head is always stale.
        decisions = [await call(pipelines[n % 2], n) for n in range(40)]
    finally:
        for log in logs:
            await log.close()
    report = await verify(first, sealer())
    rows = [row async for row in first.audit_rows("main")]
    await first.close()
    await second.close()
    assert all(d.verdict.action is Action.ALLOW for d in decisions)
    assert report.ok, report.problem
    assert [r.seq for r in rows] == list(range(1, 41))
    assert report.checkpoints >= 8


async def test_an_unknown_synchronous_commit_setting_is_refused(postgres_url: str) -> None:
    with pytest.raises(StoreError, match="synchronous_commit"):
        await open_url(postgres_url, postgres_synchronous_commit="sometimes")
