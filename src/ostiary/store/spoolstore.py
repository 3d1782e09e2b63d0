"""The store's side of audit spools (see spool.py): registering, retiring and recovering them.

Plain functions on a synchronous sqlite3 connection in autocommit mode, run in a worker thread
(they may wait for another gateway's write lock). Each state change is its own short
transaction, ordered so that a crash between any two steps leaves a state the next recovery
reads correctly:

- register: the file is created (and locked) before its row, so a row always has a file while
  its gateway lives;
- retire: the row is marked closed, then the file removed, then the row deleted, so a row that
  is open without a file means the file was removed by someone else (reported as missing), and
  a file without a row was never the store's (reported, and set aside);
- recover: the records join the chain in the transactions that move the row's mark.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ostiary.store import spool
from ostiary.store.base import Sealer
from ostiary.store.chainwrite import append_sqlite
from ostiary.store.clock import now_us

OPEN, CLOSED, TAMPERED, MISSING = "open", "closed", "tampered", "missing"
RECOVERY_BATCH = 1000


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def register(db: sqlite3.Connection, name: str, chain: str) -> None:
    with _transaction(db):
        db.execute(
            "INSERT INTO audit_spools (name, chain, ingested, tag, state, detail, opened_us)"
            " VALUES (?, ?, 0, ?, ?, NULL, ?)",
            (name, chain, name, OPEN, now_us()),
        )


def retire(db: sqlite3.Connection, path: Path, name: str) -> None:
    """Remove a spool whose every record is in the chain."""
    with _transaction(db):
        db.execute("UPDATE audit_spools SET state = ? WHERE name = ? AND state = ?", (CLOSED, name, OPEN))
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    with _transaction(db):
        db.execute("DELETE FROM audit_spools WHERE name = ? AND state = ?", (name, CLOSED))


def _report(db: sqlite3.Connection, name: str, chain: str, state: str, detail: str) -> None:
    with _transaction(db):
        db.execute(
            "INSERT INTO audit_spools (name, chain, ingested, tag, state, detail, opened_us)"
            " VALUES (?, ?, 0, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET state = ?, detail = ?",
            (name, chain, name, state, detail, now_us(), state, detail),
        )


def _settle_rows(db: sqlite3.Connection, directory: Path) -> None:
    """Rows whose file is gone: a finished retirement's leftover, or a spool someone removed."""
    with _transaction(db):
        rows = db.execute(
            "SELECT name, state FROM audit_spools WHERE state IN (?, ?)", (OPEN, CLOSED)
        ).fetchall()
        for name, state in rows:
            if (directory / f"{name}{spool.SUFFIX}").exists():
                continue
            if state == CLOSED:
                db.execute("DELETE FROM audit_spools WHERE name = ?", (name,))
            else:
                db.execute(
                    "UPDATE audit_spools SET state = ?, detail = ? WHERE name = ?",
                    (MISSING, "the spool file was removed before its records reached the chain", name),
                )


def _recover_one(db: sqlite3.Connection, orphan: spool.Orphan, sealer: Sealer) -> int:
    row = db.execute(
        "SELECT chain, ingested, tag, state FROM audit_spools WHERE name = ?", (orphan.name,)
    ).fetchone()
    if row is None:
        if orphan.size == 0:  # its gateway stopped between creating and registering it
            orphan.path.unlink()
            return 0
        _report(db, orphan.name, "", TAMPERED, "a spool file the store never registered")
        orphan.set_aside()
        return 0
    chain, ingested, tag, state = row
    if state not in (OPEN, CLOSED):
        return 0
    if orphan.size < ingested:
        _report(
            db, orphan.name, chain, TAMPERED, f"the spool was cut below the {ingested} bytes already chained"
        )
        orphan.set_aside()
        return 0
    reading = spool.read(orphan.read_from(ingested), spool.Mark(orphan.name, ingested, tag), sealer.mac)
    records = reading.records
    for start in range(0, len(records), RECOVERY_BATCH):
        batch = records[start : start + RECOVERY_BATCH]
        append_sqlite(db, chain, [body for body, _ in batch], sealer, batch[-1][1])
    if reading.problem is not None:
        _report(db, orphan.name, chain, TAMPERED, reading.problem)
        orphan.set_aside()
    else:
        retire(db, orphan.path, orphan.name)
    return len(records)


def recover(db: sqlite3.Connection, directory: Path, sealer: Sealer) -> int:
    """Append the records of every spool whose gateway stopped to their chains; returns how many."""
    if not directory.is_dir():
        return 0
    _settle_rows(db, directory)
    recovered = 0
    for orphan in spool.orphans(directory):
        try:
            recovered += _recover_one(db, orphan, sealer)
        finally:
            orphan.release()
    return recovered


def problems(db: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """(name, state, detail) of each spool found tampered with or missing."""
    rows = db.execute(
        "SELECT name, state, detail FROM audit_spools WHERE state IN (?, ?) ORDER BY opened_us, name",
        (TAMPERED, MISSING),
    ).fetchall()
    return [(str(name), str(state), str(detail or "")) for name, state, detail in rows]
