"""The audit chain's write transactions, as plain functions on a synchronous connection.

Each runs inside one transaction that first locks the chain's head row, so numbering, linking
and checkpointing are atomic with the insert even with several gateways on one database. They
are synchronous so that SQLite can run a whole transaction in one worker thread; PostgreSQL
runs the same functions through the async engine's `run_sync`.
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

from sqlalchemy import Connection, delete, func, select, text, update

from ostiary.store.base import JSON, AuditRow, Checkpoint, Sealer, StoreError
from ostiary.store.clock import GENESIS, now_us
from ostiary.store.schema import audit_checkpoints, audit_heads, audit_records
from ostiary.store.spool import Mark


def checkpoint_row(cp: Checkpoint) -> JSON:
    return {
        "chain": cp.chain, "kind": cp.kind, "seq": cp.seq, "hash": cp.hash,
        "ts_us": cp.ts_us, "key_id": cp.key_id, "signature": cp.signature,
    }  # fmt: skip


# The statements every commit runs, built once: textual SQL compiles once per dialect and skips
# the expression building and cache-key work that would otherwise dominate a small commit.
_HEAD = text("SELECT seq, hash, checkpoint_seq, checkpoint_ts_us FROM audit_heads WHERE chain = :chain")
_HEAD_LOCKED = text(_HEAD.text + " FOR UPDATE")
_SEED = text(
    "INSERT INTO audit_heads (chain, seq, hash, checkpoint_seq, checkpoint_ts_us)"
    " VALUES (:chain, 0, :hash, 0, :ts_us) ON CONFLICT (chain) DO NOTHING"
)
_RECORD = text(
    "INSERT INTO audit_records"
    " (chain, seq, ts_us, hash, prev, principal, server, target, method, action, code, body) VALUES"
    " (:chain, :seq, :ts_us, :hash, :prev, :principal, :server, :target, :method, :action, :code, :body)"
)
_CHECKPOINT = text(
    "INSERT INTO audit_checkpoints (chain, kind, seq, hash, ts_us, key_id, signature)"
    " VALUES (:chain, :kind, :seq, :hash, :ts_us, :key_id, :signature)"
)
_ADVANCE = text("UPDATE audit_heads SET seq = :seq, hash = :hash WHERE chain = :chain")
_ADVANCE_CHECKPOINTED = text(
    "UPDATE audit_heads SET seq = :seq, hash = :hash, checkpoint_seq = :checkpoint_seq,"
    " checkpoint_ts_us = :checkpoint_ts_us WHERE chain = :chain"
)

# A spool's mark only moves forward: records already chained from it are never chained again.
_SPOOL_ADVANCE = text(
    "UPDATE audit_spools SET ingested = :ingested, tag = :tag WHERE name = :name AND ingested < :ingested"
)
_SPOOL_ADVANCE_SQLITE = "UPDATE audit_spools SET ingested = ?1, tag = ?2 WHERE name = ?3 AND ingested < ?1"


def _spool_not_advanced(mark: Mark) -> str:
    return f"the audit spool {mark.name} is not registered or already chained there"


class Head(NamedTuple):
    seq: int
    hash: str
    checkpoint_seq: int
    checkpoint_ts_us: int


def _lock_head(conn: Connection, chain: str) -> Head:
    """The chain's head row, locked for this transaction (created at the genesis if missing).

    SQLite's write lock is already held (BEGIN IMMEDIATE); PostgreSQL locks the row.
    """
    query = _HEAD_LOCKED if conn.dialect.name == "postgresql" else _HEAD
    head = conn.execute(query, {"chain": chain}).one_or_none()
    if head is None:
        conn.execute(_SEED, {"chain": chain, "hash": GENESIS, "ts_us": now_us()})
        head = conn.execute(query, {"chain": chain}).one()
    return Head(*head)


def _row(chain: str, seq: int, prev: str, body: JSON, sealer: Sealer) -> AuditRow:
    canonical, digest = sealer.seal(seq, prev, body)
    return AuditRow(
        chain, seq, int(body["ts_us"]), digest, prev, canonical,
        body.get("principal"), body.get("server"), body.get("target"),
        str(body.get("method", "")), str(body.get("action", "")), str(body.get("code", "")),
    )  # fmt: skip


def _values(row: AuditRow) -> JSON:
    return {
        "chain": row.chain, "seq": row.seq, "ts_us": row.ts_us, "hash": row.hash, "prev": row.prev,
        "principal": row.principal, "server": row.server, "target": row.target, "method": row.method,
        "action": row.action, "code": row.code, "body": row.body,
    }  # fmt: skip


class Plan(NamedTuple):
    rows: list[AuditRow]
    # Parameters for _ADVANCE, or for _ADVANCE_CHECKPOINTED when there are checkpoints.
    advance: JSON
    checkpoints: list[Checkpoint]


def seal_batch(chain: str, head: Head, bodies: list[JSON], sealer: Sealer) -> Plan:
    """Number, link and seal `bodies` after `head`, checkpointing each record that is due one.

    Checkpoints fall where they are due whatever the batch sizes (every N records lands on
    N, 2N, ...), so batching records into fewer commits leaves the log as often signed.
    """
    seq, prev = head.seq, head.hash
    since_seq, since_us = head.checkpoint_seq, head.checkpoint_ts_us
    now = now_us()
    rows: list[AuditRow] = []
    checkpoints: list[Checkpoint] = []
    for body in bodies:
        seq += 1
        rows.append(_row(chain, seq, prev, body, sealer))
        prev = rows[-1].hash
        if sealer.checkpoint_due(seq - since_seq, (now - since_us) / 1e6):
            checkpoints.append(sealer.checkpoint(chain, "periodic", seq, prev, now))
            since_seq, since_us = seq, now
    advance: JSON = {"chain": chain, "seq": seq, "hash": prev}
    if checkpoints:
        advance.update(checkpoint_seq=since_seq, checkpoint_ts_us=since_us)
    return Plan(rows, advance, checkpoints)


def append(
    conn: Connection, chain: str, bodies: list[JSON], sealer: Sealer, mark: Mark | None = None
) -> list[AuditRow]:
    """Append in the connection's transaction (which must roll back if this raises)."""
    plan = seal_batch(chain, _lock_head(conn, chain), bodies, sealer)
    conn.execute(_RECORD, [_values(r) for r in plan.rows])
    if plan.checkpoints:
        conn.execute(_CHECKPOINT, [checkpoint_row(cp) for cp in plan.checkpoints])
        conn.execute(_ADVANCE_CHECKPOINTED, plan.advance)
    else:
        conn.execute(_ADVANCE, plan.advance)
    if mark is not None:
        moved = conn.execute(_SPOOL_ADVANCE, {"ingested": mark.ingested, "tag": mark.tag, "name": mark.name})
        if moved.rowcount != 1:
            raise StoreError(_spool_not_advanced(mark))
    return plan.rows


def append_sqlite(
    db: sqlite3.Connection, chain: str, bodies: list[JSON], sealer: Sealer, mark: Mark | None = None
) -> list[AuditRow]:
    """`append` in its own transaction on a bare sqlite3 connection (in autocommit mode).

    The same statements and the same plan, without SQLAlchemy's execution layer, which costs more
    than the SQLite work itself for a one-record commit. Raises
    sqlite3.OperationalError when another writer holds the database longer than the connection's
    busy timeout; the transaction is then rolled back and nothing is written. `mark`: the records
    come from an audit spool, which is then marked as chained up to there in the same transaction.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        found = db.execute(_HEAD.text, {"chain": chain}).fetchone()
        if found is None:
            db.execute(_SEED.text, {"chain": chain, "hash": GENESIS, "ts_us": now_us()})
            found = db.execute(_HEAD.text, {"chain": chain}).fetchone()
        plan = seal_batch(chain, Head(*found), bodies, sealer)
        db.executemany(_RECORD.text, [_values(r) for r in plan.rows])
        if plan.checkpoints:
            db.executemany(_CHECKPOINT.text, [checkpoint_row(cp) for cp in plan.checkpoints])
            db.execute(_ADVANCE_CHECKPOINTED.text, plan.advance)
        else:
            db.execute(_ADVANCE.text, plan.advance)
        if mark is not None:
            moved = db.execute(_SPOOL_ADVANCE_SQLITE, (mark.ingested, mark.tag, mark.name))
            if moved.rowcount != 1:
                raise sqlite3.IntegrityError(_spool_not_advanced(mark))
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return plan.rows


def checkpoint_head(conn: Connection, chain: str, sealer: Sealer) -> Checkpoint | None:
    head = _lock_head(conn, chain)
    if head.seq in (0, head.checkpoint_seq):
        return None
    now = now_us()
    cp = sealer.checkpoint(chain, "periodic", head.seq, head.hash, now)
    conn.execute(_CHECKPOINT, checkpoint_row(cp))
    conn.execute(
        update(audit_heads)
        .where(audit_heads.c.chain == chain)
        .values(checkpoint_seq=head.seq, checkpoint_ts_us=now)
    )
    return cp


def prune(conn: Connection, chain: str, before_us: int, sealer: Sealer) -> int:
    """Delete the oldest records (a prefix) and sign the new start in a retention checkpoint."""
    t = audit_records.c
    head = _lock_head(conn, chain)
    first_kept = conn.execute(select(func.min(t.seq)).where(t.chain == chain, t.ts_us >= before_us)).scalar()
    if first_kept is None:
        first_kept, prev = head.seq + 1, head.hash
    else:
        found = conn.execute(select(t.hash).where(t.chain == chain, t.seq == first_kept - 1)).scalar()
        if found is None:
            return 0
        prev = found
    gone = conn.execute(delete(audit_records).where(t.chain == chain, t.seq < first_kept))
    if not gone.rowcount:
        return 0
    c = audit_checkpoints.c
    conn.execute(delete(audit_checkpoints).where(c.chain == chain, c.seq < first_kept))
    conn.execute(delete(audit_checkpoints).where(c.chain == chain, c.kind == "retention"))
    cp = sealer.checkpoint(chain, "retention", first_kept, prev, now_us())
    conn.execute(_CHECKPOINT, checkpoint_row(cp))
    return int(gone.rowcount)
