"""Approval requests in a real store (SQLite and PostgreSQL): every transition happens once."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from ostiary.approvals.request import ABANDONED, APPROVED, DENIED, EXPIRED, PENDING, ApprovalRequest
from ostiary.approvals.store import ApprovalStore
from ostiary.identity import Principal
from ostiary.store import SqlStore, now_us

BOB = Principal("bob", method="jwt")
SECOND = 1_000_000


def fresh(now: int, **changes: object) -> ApprovalRequest:
    made = ApprovalRequest(
        id="apr_" + str(now), status=PENDING, created_us=now, expires_us=now + 60 * SECOND, heartbeat_us=now,
        holder="gw_a", mode="wait", principal="alice", principal_key="jwt:alice", session="s", server="fs",
        method="tools/call", target="write_file", args_hash="h1", document={"approvers": ["bob"]},
    )  # fmt: skip
    return replace(made, **changes)  # type: ignore[arg-type]


async def test_two_reviewers_deciding_at_once_record_exactly_one_decision(store: SqlStore) -> None:
    approvals = ApprovalStore(store)
    now = now_us()
    request = fresh(now)
    await approvals.create(request)
    yes = request.decided(APPROVED, BOB, "ok", "api", now)
    no = request.decided(DENIED, Principal("carol"), "no", "cli", now)
    results = await asyncio.gather(*(approvals.decide(d, now, now - SECOND) for d in (yes, no)))
    assert sorted(results) == [False, True]
    stored = await approvals.get(request.id)
    assert stored is not None and stored.status in (APPROVED, DENIED) and stored.reviewer in ("bob", "carol")


async def test_an_approval_is_used_once_and_only_for_its_arguments(store: SqlStore) -> None:
    approvals = ApprovalStore(store)
    now = now_us()
    request = fresh(now)
    await approvals.create(request)
    assert await approvals.decide(request.decided(APPROVED, BOB, "", "api", now), now, now - SECOND)
    assert not await approvals.use(request.id, "other-hash", now)
    assert await approvals.use(request.id, "h1", now)
    assert not await approvals.use(request.id, "h1", now)
    assert await approvals.reusable("jwt:alice", "h1", now) == []


async def test_late_or_orphaned_requests_cannot_be_decided_and_are_swept(store: SqlStore) -> None:
    approvals = ApprovalStore(store)
    now = now_us()
    expired = fresh(now - 120 * SECOND)  # created two minutes ago, expired one minute ago
    orphan = fresh(now - 1, heartbeat_us=now - 30 * SECOND)
    await approvals.create(expired)
    await approvals.create(orphan)
    stale_before = now - 15 * SECOND
    for request in (expired, orphan):
        assert not await approvals.decide(request.decided(APPROVED, BOB, "", "api", now), now, stale_before)
    swept = {r.id for r in await approvals.sweep(now, 15 * SECOND)}
    assert swept == {expired.id, orphan.id}
    assert await approvals.sweep(now, 15 * SECOND) == []
    statuses = {r.id: r.status for r in await approvals.recent(None)}
    assert statuses == {expired.id: EXPIRED, orphan.id: ABANDONED}


async def test_a_deferred_request_needs_no_heartbeat(store: SqlStore) -> None:
    approvals = ApprovalStore(store)
    now = now_us()
    request = fresh(now, mode="deferred", heartbeat_us=now - 3600 * SECOND)
    await approvals.create(request)
    assert await approvals.decide(request.decided(APPROVED, BOB, "", "api", now), now, now - SECOND)
