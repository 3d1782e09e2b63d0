"""Gateways started together on a new SQLite store must all open it.

A host that launches several `ostiary run` at once (one per configured profile, or a test matrix)
has them race to switch a new file to WAL and create its schema. SQLite breaks a lock wait
between two such connections by failing one at once, whatever its busy timeout; a gateway that
lost that race used to refuse to serve ("database is locked").
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy.exc import OperationalError

from ostiary.store import lock_conflict, open_url

ROUNDS = 30
GATEWAYS = 8


async def test_eight_gateways_opening_a_new_store_together_all_open_it(tmp_path: Path) -> None:
    failures: list[str] = []
    for round_ in range(ROUNDS):
        url = f"sqlite+aiosqlite:///{tmp_path / f'store-{round_}.db'}"
        opened = await asyncio.gather(*(open_url(url) for _ in range(GATEWAYS)), return_exceptions=True)
        for outcome in opened:
            if isinstance(outcome, BaseException):
                failures.append(f"round {round_}: {outcome}")
            else:
                await outcome.close()
    assert failures == []


def test_only_sqlite_lock_conflicts_count_as_such(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    waiter = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        waiter.execute("SELECT * FROM t")
    except sqlite3.OperationalError as exc:
        busy: sqlite3.OperationalError = exc
    else:
        raise AssertionError("an exclusive lock did not stop a reader")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        waiter.close()
    assert lock_conflict(busy)
    assert lock_conflict(OperationalError("SELECT 1", {}, busy))
    assert not lock_conflict(sqlite3.OperationalError("no such table: t"))
    assert not lock_conflict(OSError("disk I/O error"))
