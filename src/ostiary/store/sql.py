"""The one Store implementation: SQLAlchemy Core over SQLite or PostgreSQL.

Audit appends take the chain's head row under a lock (`SELECT … FOR UPDATE` on PostgreSQL; the
whole-database write lock of BEGIN IMMEDIATE on SQLite), so several gateway replicas writing to
one database still produce one gap-free sequence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from sqlalchemy import Engine, PoolProxiedConnection, Table, func, or_, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ostiary.store import chainwrite, spoolstore
from ostiary.store import spool as spool_files
from ostiary.store.base import (
    JSON,
    AuditQuery,
    AuditRow,
    Checkpoint,
    InventoryItem,
    InventoryServer,
    Pin,
    Sealer,
    StoreError,
)
from ostiary.store.clock import now_us
from ostiary.store.schema import (
    audit_checkpoints,
    audit_heads,
    audit_records,
    audit_spools,
    inventory_items,
    inventory_servers,
    pins,
)
from ostiary.store.spool import Mark, Spool

if TYPE_CHECKING:
    import asyncpg
    from sqlalchemy.ext.asyncio import AsyncConnection

    from ostiary.store.engine import Database
    from ostiary.store.threaded import ThreadedConnection

log = logging.getLogger("ostiary.store")
T = TypeVar("T")
PAGE = 2000
# Marks a transaction that only reads, so SQLite starts it DEFERRED instead of taking the write lock.
READ = {"ostiary_read": True}
# While another gateway holds the SQLite database: inline retries, their first and longest pause,
# and how long to keep retrying before waiting in a worker thread.
INLINE_FIRST_PAUSE = 0.0001
INLINE_MAX_PAUSE = 0.002
INLINE_RETRY_SECONDS = 0.05
# PostgreSQL: one-round-trip attempts before a batch takes the locking transaction.
PG_ATTEMPTS = 3
# SQLite: WAL pages (estimated) written by inline commits between checkpoints in a worker thread
# (about where SQLite's own automatic checkpoint would have run on the event loop). A commit
# writes its chain head, the tables' and indexes' leaves (~5 pages), and the records' bytes about
# twice (table and indexes).
CHECKPOINT_PAGES = 1000
COMMIT_PAGES = 5
PAGE_BYTES = 2048
# What the append connection's commits wait for (PostgreSQL's synchronous_commit setting).
POSTGRES_SYNCHRONOUS_COMMIT = ("on", "remote_apply", "remote_write", "local", "off")


@contextlib.contextmanager
def _driver_connection(engine: Engine) -> Iterator[sqlite3.Connection]:
    """A pooled connection's sqlite3 connection, for statements SQLAlchemy need not wrap."""
    fairy = engine.raw_connection()
    try:
        db = fairy.driver_connection
        assert isinstance(db, sqlite3.Connection)
        yield db
    finally:
        fairy.close()


def lock_conflict(exc: BaseException) -> bool:
    """Whether `exc` is SQLite saying another connection holds the lock (SQLITE_BUSY/LOCKED)."""
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(orig) or "busy" in str(orig)


def _code_filter(code: str | None) -> Callable[[AuditRow], bool]:
    """Whether a row carries `code` as its deciding verdict or as any other finding."""
    if code is None:
        return lambda _row: True

    def carries(row: AuditRow) -> bool:
        if row.code == code:
            return True
        try:
            body = orjson.loads(row.body)
        except orjson.JSONDecodeError:
            return False
        if not isinstance(body, dict):
            return False
        listed = [*(body.get("findings") or []), *(body.get("monitored") or [])]
        return any(isinstance(item, dict) and item.get("code") == code for item in listed)

    return carries


def _row_to_audit(row: Any) -> AuditRow:
    return AuditRow(
        row.chain,
        row.seq,
        row.ts_us,
        row.hash,
        row.prev,
        row.body,
        row.principal,
        row.server,
        row.target,
        row.method,
        row.action,
        row.code,
    )


class SqlStore:
    def __init__(
        self,
        engine: Database,
        url: str,
        writer: Engine | None = None,
        inline_writer: Engine | None = None,
        postgres_synchronous_commit: str = "on",
        spools: Path | None = None,
    ) -> None:
        self.engine = engine
        self.url = url
        # SQLite only: a synchronous engine on the same file for the chain's write transactions.
        self.writer = writer
        self.inline_writer = inline_writer
        # Where audit spools live (store/spool.py): beside a SQLite file, or PostgreSQL's configured
        # directory (audit.spool: true); None where this store keeps none.
        self.spools = spools
        self._inline: PoolProxiedConnection | None = None
        # PostgreSQL only: the audit appender's own connection, and the chain heads it last wrote.
        self._pg: asyncpg.Connection | None = None
        self._pg_lock = asyncio.Lock()
        self._pg_commit = postgres_synchronous_commit
        # SQLite: WAL pages written inline since the last checkpoint, and the checkpoint under way.
        self._since_checkpoint = 0
        self._checkpointing: asyncio.Future[None] | None = None
        self._heads: dict[str, chainwrite.Head] = {}

    async def close(self) -> None:
        if self._checkpointing is not None:
            await asyncio.wait([self._checkpointing])
        await self._close_pg()
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        await self.engine.dispose()
        if self.writer is not None:
            self.writer.dispose()
        if self.inline_writer is not None:
            self.inline_writer.dispose()

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection | ThreadedConnection]:
        """A connection for reads only: on SQLite it does not take the write lock."""
        try:
            async with self.engine.connect() as conn:
                yield await conn.execution_options(**READ)
        except SQLAlchemyError as exc:
            raise StoreError(f"the store could not be read ({type(exc).__name__})") from exc

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection | ThreadedConnection]:
        """One write transaction; database errors become StoreError, which callers fail closed on."""
        try:
            async with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"the store refused a write ({type(exc).__name__})") from exc

    def _upsert(self, table: Table, row: JSON, keys: Sequence[str]) -> Any:
        dialect: Any = sqlite
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql  # noqa: PLC0415  (SQLite never needs it)

            dialect = postgresql
        stmt = dialect.insert(table).values(**row)
        return stmt.on_conflict_do_update(
            index_elements=list(keys), set_={k: v for k, v in row.items() if k not in keys}
        )

    # ------------------------------------------------------------------ audit

    async def _write(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(connection, *args)` in one write transaction (off the event loop on SQLite)."""
        try:
            if self.writer is not None:
                writer = self.writer

                def job() -> T:
                    with writer.begin() as conn:
                        return work(conn, *args)

                return await asyncio.to_thread(job)
            async with self.engine.begin() as conn:
                return await conn.run_sync(work, *args)
        except SQLAlchemyError as exc:
            raise StoreError(f"the store refused a write ({type(exc).__name__})") from exc

    def _inline_db(self) -> sqlite3.Connection | None:
        """The inline writer's sqlite3 connection, held for the store's lifetime."""
        if self.inline_writer is None:
            return None
        if self._inline is None:
            try:
                self._inline = self.inline_writer.raw_connection()
            except SQLAlchemyError as exc:
                raise StoreError(f"the store cannot be opened for writing ({type(exc).__name__})") from exc
        db = self._inline.driver_connection
        assert isinstance(db, sqlite3.Connection)
        return db

    def append_audit_now(
        self, chain: str, bodies: Sequence[JSON], sealer: Sealer, mark: Mark | None = None
    ) -> list[AuditRow] | None:
        """Append on the calling thread if that costs no wait: SQLite at synchronous=NORMAL whose
        database no other gateway holds. None when it cannot; the caller then uses append_audit.

        Such a commit writes to the WAL without an fsync, in tens of microseconds: less than
        handing it to a thread, or batching it behind other records, would add.
        """
        db = self._inline_db()
        if db is None:
            return None
        try:
            rows = chainwrite.append_sqlite(db, chain, list(bodies), sealer, mark)
        except sqlite3.Error as exc:
            if lock_conflict(exc):
                return None
            raise StoreError(f"the store refused a write ({type(exc).__name__})") from exc
        self._since_checkpoint += COMMIT_PAGES + sum(len(row.body) for row in rows) // PAGE_BYTES
        if self._since_checkpoint >= CHECKPOINT_PAGES:
            self._checkpoint_wal()
        return rows

    def _checkpoint_wal(self) -> None:
        """Copy the WAL back into the database from a worker thread, with its fsyncs.

        PASSIVE: it takes no lock, so commits go on meanwhile. The WAL is reused once a checkpoint
        has caught up and the next commit begins; under traffic without pauses that may not happen,
        and the inline connection's own checkpoint (every INLINE_AUTOCHECKPOINT_PAGES) bounds it,
        with little left to copy. A failed checkpoint is tried again CHECKPOINT_PAGES pages later.
        """
        writer = self.writer
        if self._checkpointing is not None or writer is None:
            return
        self._since_checkpoint = 0

        def job() -> None:
            with _driver_connection(writer) as db:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

        self._checkpointing = asyncio.get_running_loop().run_in_executor(None, job)
        self._checkpointing.add_done_callback(self._checkpointed)

    def _checkpointed(self, done: asyncio.Future[None]) -> None:
        self._checkpointing = None
        failure = None if done.cancelled() else done.exception()
        if failure is not None:
            log.warning("store: a WAL checkpoint failed (%s); tried again later", type(failure).__name__)

    async def append_audit(
        self, chain: str, bodies: Sequence[JSON], sealer: Sealer, mark: Mark | None = None
    ) -> list[AuditRow]:
        """One transaction for `bodies`, in order.

        On SQLite another gateway may hold the database: inline attempts are retried after short,
        growing pauses on the event loop (other calls go on meanwhile, and their records join the
        next batch), then the write waits in a worker thread under the busy timeout. SQLite's own
        busy handler would sleep in steps of 1 ms and more; most commits hold the lock far less.
        """
        rows = self.append_audit_now(chain, bodies, sealer, mark)
        pause, waited = INLINE_FIRST_PAUSE, 0.0
        while rows is None and self.inline_writer is not None and waited < INLINE_RETRY_SECONDS:
            await asyncio.sleep(pause)
            waited += pause
            pause = min(pause * 2, INLINE_MAX_PAUSE)
            rows = self.append_audit_now(chain, bodies, sealer, mark)
        if rows is not None:
            return rows
        if self.writer is not None:
            writer, listed = self.writer, list(bodies)

            def job() -> list[AuditRow]:
                with _driver_connection(writer) as db:
                    return chainwrite.append_sqlite(db, chain, listed, sealer, mark)

            try:
                return await asyncio.to_thread(job)
            except (sqlite3.Error, SQLAlchemyError) as exc:
                raise StoreError(f"the store refused a write ({type(exc).__name__})") from exc
        if self.engine.dialect.name == "postgresql":
            fast = await self._append_postgres(chain, list(bodies), sealer, mark)
            if fast is not None:
                return fast
        try:
            return await self._write(chainwrite.append, chain, list(bodies), sealer, mark)
        finally:
            self._heads.pop(chain, None)  # the locking path moved it (and maybe checkpointed)

    async def _append_postgres(
        self, chain: str, bodies: list[JSON], sealer: Sealer, mark: Mark | None
    ) -> list[AuditRow] | None:
        """One round trip on this store's own connection (see pgappend); None if the batch must
        take the locking transaction: no head yet, a checkpoint due, or other replicas keep
        moving the head."""
        # Imported here: a gateway on SQLite never loads the PostgreSQL driver.
        import asyncpg  # noqa: PLC0415

        from ostiary.store import pgappend  # noqa: PLC0415

        async with self._pg_lock:
            try:
                if self._pg is None:
                    url = self.engine.url.set(drivername="postgresql")
                    self._pg = await asyncpg.connect(
                        url.render_as_string(hide_password=False),
                        server_settings={"synchronous_commit": self._pg_commit},
                    )
                for _ in range(PG_ATTEMPTS):
                    head = self._heads.get(chain) or await pgappend.read_head(self._pg, chain)
                    if head is None:
                        return None
                    done = await pgappend.append(self._pg, chain, head, bodies, sealer, mark)
                    if done is not None:
                        self._heads[chain] = done[1]
                        return done[0]
                    self._heads.pop(chain, None)
                return None
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                self._heads.pop(chain, None)
                await self._close_pg()
                raise StoreError(f"the store refused a write ({type(exc).__name__})") from exc

    async def _close_pg(self) -> None:
        if self._pg is not None:
            import asyncpg  # noqa: PLC0415  (loaded already: there is a connection)

            pg, self._pg = self._pg, None
            try:
                await asyncio.wait_for(pg.close(), 5)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
                pg.terminate()

    # ------------------------------------------------------------------ audit spools

    async def _spool_write(self, work: Callable[..., T], *args: Any) -> T:
        """`_write` for a spool step; a file that cannot be read or removed is a store error too."""
        try:
            return await self._write(work, *args)
        except OSError as exc:
            raise StoreError(f"an audit spool could not be used ({type(exc).__name__})") from exc

    async def open_spool(self, chain: str, sealer: Sealer) -> Spool | None:
        """A new registered spool, where this store keeps them: SQLite at synchronous=NORMAL
        (with `full` a spool would need an fsync per record too), or PostgreSQL given a spool
        directory (`audit.spool: true`). Elsewhere None, and records commit directly."""
        directory = self.spools
        if directory is None or (self.writer is not None and self.inline_writer is None):
            return None
        try:
            created = Spool.create(directory, sealer.mac)
        except OSError as exc:
            raise StoreError(f"the audit spool cannot be created ({type(exc).__name__})") from exc
        try:
            await self._spool_write(spoolstore.register, created.name, directory, chain)
        except BaseException:
            created.remove()
            raise
        return created

    async def retire_spool(self, spool: Spool) -> None:
        """Remove a spool whose every record is in the chain (see spoolstore for the order). Its
        lock is held until the row is closed, so no recovery takes it for a stopped gateway's."""
        await self._spool_write(spoolstore.close_row, spool.name)
        spool.remove()
        await self._spool_write(spoolstore.drop_row, spool.name)

    async def recover_spools(self, sealer: Sealer) -> int:
        directory = self.spools
        if directory is None or not directory.is_dir():
            return 0
        await self._spool_write(spoolstore.settle, directory)
        recovered = 0
        for orphan in spool_files.orphans(directory):
            try:
                count, outcome = await self._spool_write(spoolstore.recover, orphan, directory, sealer)
                recovered += count
                if outcome == "set aside":
                    orphan.set_aside()
                elif outcome in ("retire", "remove"):
                    orphan.remove()
                    if outcome == "retire":
                        await self._spool_write(spoolstore.drop_row, orphan.name)
            finally:
                orphan.release()
        if recovered:
            log.warning("audit: %d records left by a stopped gateway were added to the chain", recovered)
        return recovered

    async def spool_problems(self) -> list[tuple[str, str, str]]:
        t = audit_spools.c
        async with self._reading() as conn:
            result = await conn.execute(
                select(t.name, t.state, t.detail)
                .where(t.state.in_((spoolstore.TAMPERED, spoolstore.MISSING)))
                .order_by(t.opened_us, t.name)
            )
            return [(r.name, r.state, r.detail or "") for r in result]

    # ------------------------------------------------------------------ audit reads

    async def checkpoint_head(self, chain: str, sealer: Sealer) -> Checkpoint | None:
        return await self._write(chainwrite.checkpoint_head, chain, sealer)

    async def audit_head(self, chain: str) -> tuple[int, str] | None:
        async with self._reading() as conn:
            row = (await conn.execute(select(audit_heads).where(audit_heads.c.chain == chain))).first()
            return None if row is None else (row.seq, row.hash)

    def _audit_filter(self, chain: str, q: AuditQuery) -> Any:
        t = audit_records.c
        where = [t.chain == chain]
        for column, value in (
            (t.principal, q.principal),
            (t.server, q.server),
            (t.target, q.target),
            (t.action, q.action),
        ):
            if value is not None:
                where.append(column == value)
        if q.code is not None:
            # The deciding code is a column; earlier and monitored findings are in the body, found
            # by text and then confirmed on the parsed record.
            quoted = f'"code":{orjson.dumps(q.code).decode()}'
            where.append(or_(t.code == q.code, t.body.contains(quoted, autoescape=True)))
        if q.since_us is not None:
            where.append(t.ts_us >= q.since_us)
        if q.until_us is not None:
            where.append(t.ts_us < q.until_us)
        if q.before_seq is not None:
            where.append(t.seq < q.before_seq)
        return where

    async def count_audit(self, chain: str, query: AuditQuery) -> int:
        count = select(func.count()).select_from(audit_records).where(*self._audit_filter(chain, query))
        async with self._reading() as conn:
            return int((await conn.execute(count)).scalar_one())

    async def audit_rows(self, chain: str, query: AuditQuery | None = None) -> AsyncIterator[AuditRow]:
        q = query or AuditQuery()
        t = audit_records.c
        if q.newest_first:
            async for row in self._audit_rows_newest(chain, q):
                yield row
            return
        base = select(audit_records).where(*self._audit_filter(chain, q))
        wanted = _code_filter(q.code)
        last, left = -1, q.limit
        while left is None or left > 0:
            page = min(PAGE, left) if left is not None else PAGE
            async with self._reading() as conn:
                result = await conn.execute(base.where(t.seq > last).order_by(t.seq).limit(page))
                batch = [_row_to_audit(r) for r in result]
            kept = [row for row in batch if wanted(row)]
            for row in kept:
                yield row
            if len(batch) < page:
                return
            last = batch[-1].seq
            left = None if left is None else left - len(kept)

    async def _audit_rows_newest(self, chain: str, q: AuditQuery) -> AsyncIterator[AuditRow]:
        t = audit_records.c
        base = select(audit_records).where(*self._audit_filter(chain, q))
        wanted = _code_filter(q.code)
        last: int | None = None
        left = q.limit
        while left is None or left > 0:
            page = min(PAGE, left) if left is not None else PAGE
            query = base if last is None else base.where(t.seq < last)
            async with self._reading() as conn:
                result = await conn.execute(query.order_by(t.seq.desc()).limit(page))
                batch = [_row_to_audit(r) for r in result]
            kept = [row for row in batch if wanted(row)]
            for row in kept:
                yield row
            if len(batch) < page:
                return
            last = batch[-1].seq
            left = None if left is None else left - len(kept)

    async def checkpoints(self, chain: str) -> list[Checkpoint]:
        t = audit_checkpoints.c
        async with self._reading() as conn:
            result = await conn.execute(
                select(audit_checkpoints).where(t.chain == chain).order_by(t.seq, t.id)
            )
            return [
                Checkpoint(r.chain, r.kind, r.seq, r.hash, r.ts_us, r.key_id, r.signature) for r in result
            ]

    async def prune_audit(self, chain: str, before_us: int, sealer: Sealer) -> int:
        return await self._write(chainwrite.prune, chain, before_us, sealer)

    # ------------------------------------------------------------------ pins

    async def load_pins(self, tenant: str, server: str | None = None) -> list[Pin]:
        t = pins.c
        query = select(pins).where(t.tenant == tenant)
        if server is not None:
            query = query.where(t.server == server)
        async with self._reading() as conn:
            result = await conn.execute(query.order_by(t.server, t.kind, t.name))
            return [
                Pin(
                    r.tenant,
                    r.server,
                    r.kind,
                    r.name,
                    r.fingerprint,
                    r.document,
                    r.status,
                    r.pending_fingerprint,
                    r.pending_document,
                    r.first_seen_us,
                    r.updated_us,
                )
                for r in result
            ]

    async def save_pin(self, pin: Pin) -> None:
        row = {
            "tenant": pin.tenant,
            "server": pin.server,
            "kind": pin.kind,
            "name": pin.name,
            "fingerprint": pin.fingerprint,
            "document": pin.document,
            "status": pin.status,
            "pending_fingerprint": pin.pending_fingerprint,
            "pending_document": pin.pending_document,
            "first_seen_us": pin.first_seen_us or now_us(),
            "updated_us": now_us(),
        }
        async with self._writing() as conn:
            await conn.execute(self._upsert(pins, row, ("tenant", "server", "kind", "name")))

    # ------------------------------------------------------------------ inventory

    async def record_server(self, server: str, info: JSON, gateway: str = "") -> None:
        info_text = orjson.dumps(info).decode()
        row = {"gateway": gateway, "server": server, "info": info_text, "updated_us": now_us()}
        async with self._writing() as conn:
            await conn.execute(self._upsert(inventory_servers, row, ("gateway", "server")))

    async def record_items(self, items: Sequence[InventoryItem]) -> None:
        if not items:
            return
        async with self._writing() as conn:
            for item in items:
                row = {
                    "gateway": item.gateway,
                    "server": item.server,
                    "kind": item.kind,
                    "name": item.name,
                    "definition": orjson.dumps(item.definition).decode(),
                    "risk": item.risk,
                    "updated_us": item.updated_us or now_us(),
                }
                key = ("gateway", "server", "kind", "name")
                await conn.execute(self._upsert(inventory_items, row, key))

    async def inventory(
        self, gateway: str | None = None
    ) -> tuple[list[InventoryServer], list[InventoryItem]]:
        """What servers offered, of one gateway or (None) of every gateway using this store."""
        s, t = inventory_servers.c, inventory_items.c
        servers_query = select(inventory_servers).order_by(s.gateway, s.server)
        items_query = select(inventory_items).order_by(t.gateway, t.server, t.kind, t.name)
        if gateway is not None:
            servers_query = servers_query.where(s.gateway == gateway)
            items_query = items_query.where(t.gateway == gateway)
        async with self._reading() as conn:
            servers = await conn.execute(servers_query)
            found = [
                InventoryServer(r.server, orjson.loads(r.info), r.updated_us, r.gateway) for r in servers
            ]
            items = await conn.execute(items_query)
            listed = [
                InventoryItem(
                    r.server, r.kind, r.name, orjson.loads(r.definition), r.risk, r.updated_us, r.gateway
                )
                for r in items
            ]
            return found, listed
