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
from ostiary.store.spool import Mark

_READ_HEAD = "SELECT seq, hash, checkpoint_seq, checkpoint_ts_us FROM audit_heads WHERE chain = $1"
# Inserts the rows only if the head advanced (the CTE `advanced` returned a row).
_INSERT_IF_ADVANCED = """
INSERT INTO audit_records
    (chain, seq, ts_us, hash, prev, principal, server, target, method, action, code, body)
SELECT $1, r.* FROM unnest(
    $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[],
    $12::text[], $13::text[], $14::text[], $15::text[], $16::text[]
) AS r
WHERE EXISTS (SELECT 1 FROM advanced)
"""
_ADVANCE = """
WITH advanced AS (
    UPDATE audit_heads SET seq = $2, hash = $3 WHERE chain = $1 AND seq = $4 AND hash = $5 RETURNING 1
)"""
# Records from an audit spool: the head advances only if the spool's mark is behind the batch's,
# and the mark moves with the rows, in the one statement.
_ADVANCE_SPOOLED = """
WITH advanced AS (
    UPDATE audit_heads SET seq = $2, hash = $3 WHERE chain = $1 AND seq = $4 AND hash = $5
        AND EXISTS (SELECT 1 FROM audit_spools WHERE name = $19 AND ingested < $17) RETURNING 1
), spooled AS (
    UPDATE audit_spools SET ingested = $17, tag = $18 WHERE name = $19
        AND EXISTS (SELECT 1 FROM advanced) RETURNING 1
)"""
_APPEND = "".join((_ADVANCE, _INSERT_IF_ADVANCED))
_APPEND_SPOOLED = "".join((_ADVANCE_SPOOLED, _INSERT_IF_ADVANCED))


async def read_head(db: asyncpg.Connection, chain: str) -> Head | None:
    found = await db.fetchrow(_READ_HEAD, chain)
    return None if found is None else Head(*found)


async def append(
    db: asyncpg.Connection,
    chain: str,
    head: Head,
    bodies: list[JSON],
    sealer: Sealer,
    mark: Mark | None = None,
) -> tuple[list[AuditRow], Head] | None:
    """The rows written and the new head; None if nothing was written because the head moved
    (another replica appended), a checkpoint is due, or the spool's mark is not behind the batch
    (the caller takes the locking path, which says why)."""
    plan = seal_batch(chain, head, bodies, sealer)
    if plan.checkpoints:
        return None
    rows = plan.rows
    columns: list[Sequence[object]] = [
        [r.seq for r in rows], [r.ts_us for r in rows], [r.hash for r in rows], [r.prev for r in rows],
        [r.principal for r in rows], [r.server for r in rows], [r.target for r in rows],
        [r.method for r in rows], [r.action for r in rows], [r.code for r in rows], [r.body for r in rows],
    ]  # fmt: skip
    advance = (chain, rows[-1].seq, rows[-1].hash, head.seq, head.hash)
    if mark is None:
        status = await db.execute(_APPEND, *advance, *columns)
    else:
        status = await db.execute(_APPEND_SPOOLED, *advance, *columns, mark.ingested, mark.tag, mark.name)
    if status != f"INSERT 0 {len(rows)}":
        return None
    return rows, head._replace(seq=rows[-1].seq, hash=rows[-1].hash)
