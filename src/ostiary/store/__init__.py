"""Persistence behind one protocol: SQLite by default, PostgreSQL for teams and replicas.

`open_store(config)` is the only entry point: it creates the engine from `Config.store_url()`
(which honours `OSTIARY_STORE`), runs the migrations and returns a `Store`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ostiary import secretref
from ostiary.config import Config
from ostiary.store.base import (
    AuditQuery,
    AuditRow,
    Checkpoint,
    InventoryItem,
    InventoryServer,
    Pin,
    Sealer,
    Store,
    StoreError,
)
from ostiary.store.clock import GENESIS, now_us
from ostiary.store.engine import (
    Database,
    create_engine,
    create_inline_writer,
    create_writer,
    migrate,
    shown,
    spool_directory,
    sqlite_file,
)
from ostiary.store.sql import POSTGRES_SYNCHRONOUS_COMMIT, SqlStore, lock_conflict

__all__ = [
    "GENESIS",
    "AuditQuery",
    "AuditRow",
    "Checkpoint",
    "InventoryItem",
    "InventoryServer",
    "Pin",
    "Sealer",
    "SqlStore",
    "Store",
    "StoreError",
    "lock_conflict",
    "now_us",
    "open_store",
    "open_url",
    "postgres_spool_dir",
    "shown",
]


async def open_url(
    url: str,
    sqlite_synchronous: str = "normal",
    postgres_synchronous_commit: str = "on",
    postgres_spool: Path | None = None,
    must_exist: bool = False,
) -> SqlStore:
    """Open the store at `url` (secret references in it resolved), migrated to the latest schema.

    Audit spools (store/spool.py) live beside a SQLite file; a PostgreSQL store keeps them only
    where `postgres_spool` names a directory (`audit.spool: true`). `must_exist`: a store that is
    not there is a StoreError naming the URL, and nothing is created (commands that only read)."""
    if postgres_synchronous_commit not in POSTGRES_SYNCHRONOUS_COMMIT:
        raise StoreError(
            "postgres synchronous_commit must be one of "
            f"{', '.join(POSTGRES_SYNCHRONOUS_COMMIT)}, not {postgres_synchronous_commit!r}"
        )
    resolved = secretref.resolve(url) if secretref.has_reference(url) else url
    if must_exist:
        database = sqlite_file(resolved)
        if database is not None and not database.is_file():
            raise StoreError(f"no store at {shown(url)}: {database} does not exist")
    engine = create_engine(resolved, sqlite_synchronous)
    writer = create_writer(resolved, sqlite_synchronous)
    inline_writer = create_inline_writer(resolved, sqlite_synchronous)
    try:
        await _migrate_when_free(engine, sqlite=writer is not None, must_exist=must_exist)
    except StoreError as exc:
        await engine.dispose()
        for sync_engine in (writer, inline_writer):
            if sync_engine is not None:
                sync_engine.dispose()
        raise StoreError(f"no store at {shown(url)}: {exc}") from None
    except (SQLAlchemyError, OSError) as exc:
        await engine.dispose()
        for sync_engine in (writer, inline_writer):
            if sync_engine is not None:
                sync_engine.dispose()
        detail = secretref.REDACTOR(str(exc).splitlines()[0] if str(exc) else "")
        raise StoreError(f"the store {shown(url)} cannot be opened ({type(exc).__name__}: {detail})") from exc
    spools = spool_directory(resolved) if writer is not None else postgres_spool
    return SqlStore(engine, url, writer, inline_writer, postgres_synchronous_commit, spools)


# How often, and after what pauses, opening a SQLite store retries a lock conflict its busy
# timeout could not wait out (about 6 s in all).
OPEN_RETRY_PAUSES = (0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.0)


async def _migrate_when_free(engine: Database, sqlite: bool, must_exist: bool = False) -> None:
    """`migrate`, retried on SQLite lock conflicts.

    Gateways started together on a new SQLite file race to switch it to WAL and create the schema.
    While the file is still in rollback-journal mode, SQLite resolves two such connections that
    each wait for the other by failing one at once, without its busy timeout: the loser retries
    after a pause instead of refusing to serve."""
    for pause in (*OPEN_RETRY_PAUSES, None):
        try:
            await migrate(engine, must_exist)
            return
        except OperationalError as exc:
            if not sqlite or pause is None or not lock_conflict(exc):
                raise
        await asyncio.sleep(pause)


async def open_store(config: Config, must_exist: bool = False) -> SqlStore:
    """The configured store; `audit.sqlite_synchronous` and `audit.postgres_synchronous_commit`
    trade durability for latency.

    SQLite `normal` is the default: in WAL mode a commit then survives the gateway being killed
    (what "no result without its record" needs) without waiting for an fsync. `full` also
    survives the machine losing power. PostgreSQL's default, `on`, waits for the database
    server's WAL flush; `off` gives the guarantee SQLite's `normal` does
    (a record survives the gateway's crash, not the database server's).
    """
    audit = config.audit
    return await open_url(
        config.store_url(),
        audit.sqlite_synchronous,
        audit.postgres_synchronous_commit,
        postgres_spool_dir(config),
        must_exist,
    )


def postgres_spool_dir(config: Config) -> Path | None:
    """Where a PostgreSQL gateway keeps its audit spools: only with `audit.spool: true`, in
    `audit.spool_dir` (relative to the config file) or the user's data directory."""
    audit = config.audit
    if audit.spool is not True:
        return None
    configured = audit.spool_dir
    if not configured:
        from platformdirs import user_data_dir  # noqa: PLC0415  (only needed with a PostgreSQL spool)

        return Path(user_data_dir("ostiary", appauthor=False)) / "audit-spool"
    path = Path(str(configured)).expanduser()
    return path if path.is_absolute() else Path(config.base_dir) / path
