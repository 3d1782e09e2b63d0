"""Engine creation from a store URL, and the migrations run at start.

SQLite is the embedded default: its directory is created, WAL mode lets readers (the CLI) work
beside the gateway, `synchronous=NORMAL` (the default) makes every commit survive the gateway
being killed (`FULL`: even power loss), and each write transaction starts with BEGIN IMMEDIATE
so concurrent gateways serialise instead of failing on lock upgrades. PostgreSQL needs nothing
special beyond the advisory lock that keeps replicas starting together from racing through the
same migration.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    event,
    inspect,
    text,
)
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from ostiary.store import spool
from ostiary.store.base import StoreError
from ostiary.store.schema import metadata
from ostiary.store.threaded import ThreadedEngine

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

# The store's general-purpose engine: SQLAlchemy's async engine on PostgreSQL (asyncpg), a
# synchronous engine driven through threads on SQLite (see threaded.py for why).
Database: TypeAlias = "AsyncEngine | ThreadedEngine"

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant: the PostgreSQL advisory lock key all replicas agree on for migrations.
MIGRATION_LOCK = 0x05714A27
SYNCHRONOUS = ("full", "normal")
# The inline writer's own checkpoint threshold, in WAL pages (SQLite's default: 1000).
INLINE_AUTOCHECKPOINT_PAGES = 10000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite(
    engine: Engine, synchronous: str, busy_ms: int = 30000, autocheckpoint_pages: int | None = None
) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        if autocheckpoint_pages is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint_pages)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        reading = connection.get_execution_options().get("ostiary_read", False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def _sqlite_engine(
    url: URL,
    synchronous: str,
    busy_ms: int = 30000,
    single: bool = False,
    autocheckpoint_pages: int | None = None,
) -> Engine:
    """An engine on the SQLite file at `url` with the standard library's driver; `single`: one
    connection, shared (StaticPool)."""
    engine = sa_create_engine(
        url.set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": busy_ms / 1000, "check_same_thread": False},
        **({"poolclass": StaticPool} if single else {}),
    )
    _prepare_sqlite(engine, synchronous.upper(), busy_ms, autocheckpoint_pages)
    return engine


def create_engine(url: str, sqlite_synchronous: str = "full") -> Database:
    """An engine for `url`. `sqlite_synchronous`: `full` (a commit survives power loss) or `normal`
    (a commit survives a crash or kill of the gateway, not of the machine; much cheaper).

    SQLite URLs name aiosqlite for compatibility with earlier configurations; the store opens the
    file with the standard library's driver (pysqlite) and runs it in threads."""
    if sqlite_synchronous not in SYNCHRONOUS:
        raise StoreError(
            f"sqlite synchronous must be one of {', '.join(SYNCHRONOUS)}, not {sqlite_synchronous!r}"
        )
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")
        if parsed.database and not in_memory:
            _create_private(Path(parsed.database).expanduser())
        # One shared connection, as aiosqlite had: an in-memory database is per connection.
        return ThreadedEngine(_sqlite_engine(parsed, sqlite_synchronous, single=in_memory))
    if backend == "postgresql":
        from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415  (PostgreSQL only)

        return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    raise StoreError(
        f"unsupported store URL scheme {parsed.drivername!r} (use sqlite+aiosqlite or postgresql+asyncpg)"
    )


def _create_private(database: Path) -> None:
    """Create a new SQLite file 0600, in a new folder 0700, before SQLite does: it holds whole
    tool arguments, and SQLite gives its WAL and shared-memory files the database file's mode."""
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other stores and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def shown(url: str) -> str:
    """`url` as it may be printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: say so without echoing it
        return "(an unparsable store URL)"


def spool_directory(url: str) -> Path | None:
    """Where a SQLite file's audit spools live (store/spool.py); None for other stores."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return spool.directory_of(Path(parsed.database).expanduser().absolute())


def create_writer(url: str, sqlite_synchronous: str = "full") -> Engine | None:
    """For SQLite, a synchronous engine on the same file for the audit chain's write transactions
    (see SqlStore._write); None for PostgreSQL, where the async engine does everything."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    return _sqlite_engine(parsed, sqlite_synchronous)


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
    # A checkpoint fsyncs, and one run by this connection stalls the event loop and
    # every session with it. The store checkpoints from a worker thread as the WAL grows; this
    # connection checkpoints itself only as a bound, if those cannot keep up.
    return _sqlite_engine(
        parsed, "normal", busy_ms=0, single=True, autocheckpoint_pages=INLINE_AUTOCHECKPOINT_PAGES
    )


def _lock_migrations(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def _upgrade(connection: Connection) -> None:
    # Alembic is needed only here, when an existing store is behind; importing it lazily keeps
    # start-up short, and it stays out of a gateway's memory unless it was needed.
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config as AlembicConfig  # noqa: PLC0415

    _lock_migrations(connection)
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


# The newest migration in migrations/versions; a test keeps it equal to Alembic's head.
HEAD_REVISION = "0005"

# Alembic's own version table, as `alembic stamp` creates it.
VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def _create_or_upgrade(connection: Connection) -> None:
    """An empty database gets the newest schema from the metadata (`schema.py`), stamped with
    its revision: Alembic's recipe for a new database ("create_all, then stamp head"), without
    loading Alembic (with Mako and the ORM, kept by the process once loaded). A test
    keeps the metadata and the migrations identical. Anything else is Alembic's to upgrade."""
    _lock_migrations(connection)
    if inspect(connection).get_table_names():
        _upgrade(connection)
        return
    metadata.create_all(connection, checkfirst=False)
    VERSION_TABLE.create(connection, checkfirst=False)
    connection.execute(VERSION_TABLE.insert().values(version_num=HEAD_REVISION))


def _current_revision(connection: Connection) -> str | None:
    try:
        with connection.begin_nested():
            row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    except SQLAlchemyError:
        return None  # a new database: no version table yet
    return str(row[0]) if row is not None else None


async def migrate(engine: Database, must_exist: bool = False) -> None:
    """Bring the schema to the newest revision. A store already there costs one query; a new one
    is created from the metadata (unless `must_exist`: then it is a StoreError); Alembic is
    imported only when an existing store is behind."""
    async with engine.begin() as connection:
        revision = await connection.run_sync(_current_revision)
        if revision is None and must_exist:
            raise StoreError("it holds no Ostiary store")
        if revision != HEAD_REVISION:
            await connection.run_sync(_create_or_upgrade)
