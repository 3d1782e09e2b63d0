"""Engine creation from a store URL, and the migrations run at start.

SQLite is the embedded default: its directory is created, WAL mode lets readers (the CLI) work
beside the gateway, `synchronous=NORMAL` (the default) makes every commit survive the gateway
being killed (`FULL`: even power loss), and each write transaction starts with BEGIN IMMEDIATE
so concurrent gateways serialise instead of failing on lock upgrades. PostgreSQL needs nothing
special beyond the advisory lock that keeps replicas starting together from racing through the
same migration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from ostiary.store.base import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant: the PostgreSQL advisory lock key all replicas agree on for migrations.
MIGRATION_LOCK = 0x05714A27
SYNCHRONOUS = ("full", "normal")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite(engine: Engine, synchronous: str, busy_ms: int = 30000) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        reading = connection.get_execution_options().get("ostiary_read", False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def create_engine(url: str, sqlite_synchronous: str = "full") -> AsyncEngine:
    """An engine for `url`. `sqlite_synchronous`: `full` (a commit survives power loss) or `normal`
    (a commit survives a crash or kill of the gateway, not of the machine; much cheaper)."""
    if sqlite_synchronous not in SYNCHRONOUS:
        raise StoreError(
            f"sqlite synchronous must be one of {', '.join(SYNCHRONOUS)}, not {sqlite_synchronous!r}"
        )
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _prepare_sqlite(engine.sync_engine, sqlite_synchronous.upper())
        return engine
    if backend == "postgresql":
        return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    raise StoreError(
        f"unsupported store URL scheme {parsed.drivername!r} (use sqlite+aiosqlite or postgresql+asyncpg)"
    )


def create_writer(url: str, sqlite_synchronous: str = "full") -> Engine | None:
    """For SQLite, a synchronous engine on the same file for the audit chain's write transactions
    (see SqlStore._write); None for PostgreSQL, where the async engine does everything."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    engine = sa_create_engine(
        parsed.set(drivername="sqlite+pysqlite"), connect_args={"timeout": 30, "check_same_thread": False}
    )
    _prepare_sqlite(engine, sqlite_synchronous.upper())
    return engine


def create_inline_writer(url: str, sqlite_synchronous: str) -> Engine | None:
    """For SQLite at synchronous=NORMAL, the engine of the one connection whose audit commits run
    on the event loop itself (the store holds it and drives its sqlite3 connection directly).

    Such a commit writes to the WAL without an fsync, cheaper than handing it to a thread. It
    never waits for a lock (busy timeout 0): when another gateway holds the database, the store
    retries after short pauses and then hands the write to the worker thread, which may wait.
    None where it does not apply.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or sqlite_synchronous != "normal":
        return None
    engine = sa_create_engine(
        parsed.set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": 0, "check_same_thread": False},
        poolclass=StaticPool,
    )
    _prepare_sqlite(engine, "NORMAL", busy_ms=0)
    return engine


def _upgrade(connection: Connection) -> None:
    # Alembic is needed only here, once per start; importing it lazily keeps CLI start-up short.
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config as AlembicConfig  # noqa: PLC0415

    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


# The newest migration in migrations/versions; a test keeps it equal to Alembic's head.
HEAD_REVISION = "0001"


def _current_revision(connection: Connection) -> str | None:
    try:
        with connection.begin_nested():
            row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    except SQLAlchemyError:
        return None  # a new database: no version table yet
    return str(row[0]) if row is not None else None


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision. A store already there costs one query: Alembic
    is imported only when there is something to upgrade (it is most of a start-up otherwise)."""
    async with engine.begin() as connection:
        if await connection.run_sync(_current_revision) != HEAD_REVISION:
            await connection.run_sync(_upgrade)
