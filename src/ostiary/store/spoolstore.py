"""The store's side of audit spools (see spool.py): registering, retiring and recovering them.

Plain functions on a synchronous SQLAlchemy connection, each run by the store as one
transaction (SQLite: in a worker thread; PostgreSQL: through the async engine's run_sync). The
steps are ordered so that a crash between any two leaves a state the next recovery reads right:

- register: the file is created (and locked) before its row, so a row always has a file while
  its gateway lives;
- retire: the row is marked closed, then the file removed, then the row deleted, so a row that
  is open without a file means the file was removed by someone else (reported as missing), and
  a file without a row was never the store's (reported, and set aside);
- recover: the records join the chain in the transaction that moves the row's mark.

Rows carry the host and directory of their file (`place`): replicas that share a PostgreSQL
database each look after their own spools only.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from sqlalchemy import Connection, text

from ostiary.store import spool
from ostiary.store.base import JSON, Sealer
from ostiary.store.chainwrite import append
from ostiary.store.clock import now_us

OPEN, CLOSED, TAMPERED, MISSING = "open", "closed", "tampered", "missing"
RECOVERY_BATCH = 1000
Outcome = Literal["retire", "remove", "set aside", "skip"]

_REGISTER = text(
    "INSERT INTO audit_spools (name, place, chain, ingested, tag, state, detail, opened_us)"
    " VALUES (:name, :place, :chain, 0, :name, :state, NULL, :now)"
)
_REPORT = text(
    "INSERT INTO audit_spools (name, place, chain, ingested, tag, state, detail, opened_us)"
    " VALUES (:name, :place, :chain, 0, :name, :state, :detail, :now)"
    " ON CONFLICT (name) DO UPDATE SET state = :state, detail = :detail"
)
_CLOSE = text("UPDATE audit_spools SET state = :closed WHERE name = :name AND state = :open")
_DROP = text("DELETE FROM audit_spools WHERE name = :name AND state = :closed")
_ROW = text("SELECT chain, ingested, tag, state FROM audit_spools WHERE name = :name")
_PLACED = text("SELECT name, state FROM audit_spools WHERE place = :place AND state IN (:open, :closed)")


def place_of(directory: Path) -> str:
    return f"{socket.gethostname()}:{directory}"


def register(conn: Connection, name: str, directory: Path, chain: str) -> None:
    values = {"name": name, "place": place_of(directory), "chain": chain, "state": OPEN, "now": now_us()}
    conn.execute(_REGISTER, values)


def close_row(conn: Connection, name: str) -> None:
    conn.execute(_CLOSE, {"name": name, "open": OPEN, "closed": CLOSED})


def drop_row(conn: Connection, name: str) -> None:
    conn.execute(_DROP, {"name": name, "closed": CLOSED})


def _report(conn: Connection, name: str, directory: Path, chain: str, state: str, detail: str) -> None:
    values = {"name": name, "place": place_of(directory), "chain": chain, "state": state}
    conn.execute(_REPORT, {**values, "detail": detail, "now": now_us()})


def settle(conn: Connection, directory: Path) -> None:
    """This place's rows whose file is gone: a finished retirement's leftover, or a spool that
    someone removed before its records were chained (reported as missing)."""
    rows = conn.execute(_PLACED, {"place": place_of(directory), "open": OPEN, "closed": CLOSED}).all()
    for name, state in rows:
        if (directory / f"{name}{spool.SUFFIX}").exists():
            continue
        if state == CLOSED:
            drop_row(conn, name)
        else:
            detail = "the spool file was removed before its records reached the chain"
            conn.execute(
                text("UPDATE audit_spools SET state = :state, detail = :detail WHERE name = :name"),
                {"state": MISSING, "detail": detail, "name": name},
            )


def _below_high_water(
    orphan: spool.Orphan, records: list[tuple[JSON, spool.Mark]], ingested: int, sealer: Sealer
) -> str | None:
    """Why the spool falls short of what its gateway acknowledged (its high-water mark), if it does."""
    high = spool.read_high_water(orphan.path, orphan.name, sealer.mac)
    if isinstance(high, str):
        return high
    size = orphan.size
    if size < high.size:
        return (
            f"the spool was cut short: its gateway acknowledged {high.count} records ({high.size} bytes), "
            f"and {size} bytes remain"
        )
    if high.count and high.size > ingested:
        tags = {mark.ingested: mark.tag for _, mark in records}
        if tags.get(high.size) != high.tag:
            return f"the spool's {high.count} acknowledged records do not end where its high-water mark says"
    return None


def recover(conn: Connection, orphan: spool.Orphan, directory: Path, sealer: Sealer) -> tuple[int, Outcome]:
    """Chain the records of one stopped gateway's spool; returns how many, and what to do with
    its file once this transaction has committed."""
    row = conn.execute(_ROW, {"name": orphan.name}).one_or_none()
    if row is None:
        if orphan.size == 0:  # its gateway stopped between creating and registering it
            return 0, "remove"
        _report(conn, orphan.name, directory, "", TAMPERED, "a spool file the store never registered")
        return 0, "set aside"
    chain, ingested, tag, state = row
    if state not in (OPEN, CLOSED):
        return 0, "skip"
    if orphan.size < ingested:
        detail = f"the spool was cut below the {ingested} bytes already chained"
        _report(conn, orphan.name, directory, chain, TAMPERED, detail)
        return 0, "set aside"
    reading = spool.read(orphan.read_from(ingested), spool.Mark(orphan.name, ingested, tag), sealer.mac)
    records = reading.records
    for start in range(0, len(records), RECOVERY_BATCH):
        batch = records[start : start + RECOVERY_BATCH]
        append(conn, chain, [body for body, _ in batch], sealer, batch[-1][1])
    problem = reading.problem or _below_high_water(orphan, records, ingested, sealer)
    if problem is not None:
        _report(conn, orphan.name, directory, chain, TAMPERED, problem)
        return len(records), "set aside"
    close_row(conn, orphan.name)
    return len(records), "retire"
