"""PostgreSQL audit appends in one round trip, against the chain head this replica last saw.

The locking transaction in `chainwrite.append` costs five round trips (begin, lock the head,
insert, advance, commit). Here the rows are sealed against a cached head and sent as one
statement: a data-modifying CTE advances the head only if it is still the one the rows link to,
and inserts the rows only if it did. The statement is its own transaction, so either both happen
or neither; under concurrent replicas the loser's head check fails (PostgreSQL rechecks the
row after the winner commits), nothing is written, and the caller re-reads the head and
retries. Batches that are due a checkpoint go through the locking transaction instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from ostiary.store.base import JSON, AuditRow, Sealer
from ostiary.store.chainwrite import Head, seal_batch

_READ_HEAD = "SELECT seq, hash, checkpoint_seq, checkpoint_ts_us FROM audit_heads WHERE chain = $1"
_APPEND = """
WITH advanced AS (
    UPDATE audit_heads SET seq = $2, hash = $3 WHERE chain = $1 AND seq = $4 AND hash = $5 RETURNING 1
)
INSERT INTO audit_records
    (chain, seq, ts_us, hash, prev, principal, server, target, method, action, code, body)
SELECT $1, r.* FROM unnest(
    $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[],
    $12::text[], $13::text[], $14::text[], $15::text[], $16::text[]
) AS r
WHERE EXISTS (SELECT 1 FROM advanced)
"""


async def read_head(db: asyncpg.Connection, chain: str) -> Head | None:
    found = await db.fetchrow(_READ_HEAD, chain)
    return None if found is None else Head(*found)


async def append(
    db: asyncpg.Connection, chain: str, head: Head, bodies: list[JSON], sealer: Sealer
) -> tuple[list[AuditRow], Head] | None:
    """The rows written and the new head; None if nothing was written because the head moved
    (another replica appended) or a checkpoint is due (the caller takes the locking path)."""
    plan = seal_batch(chain, head, bodies, sealer)
    if plan.checkpoints:
        return None
    rows = plan.rows
    columns: list[Sequence[object]] = [
        [r.seq for r in rows], [r.ts_us for r in rows], [r.hash for r in rows], [r.prev for r in rows],
        [r.principal for r in rows], [r.server for r in rows], [r.target for r in rows],
        [r.method for r in rows], [r.action for r in rows], [r.code for r in rows], [r.body for r in rows],
    ]  # fmt: skip
    status = await db.execute(_APPEND, chain, rows[-1].seq, rows[-1].hash, head.seq, head.hash, *columns)
    if status != f"INSERT 0 {len(rows)}":
        return None
    return rows, head._replace(seq=rows[-1].seq, hash=rows[-1].hash)
