"""The one Store implementation: SQLAlchemy Core over SQLite or PostgreSQL.

Audit appends take the chain's head row under a lock (`SELECT … FOR UPDATE` on PostgreSQL; the
whole-database write lock of BEGIN IMMEDIATE on SQLite), so several gateway replicas writing to
one database still produce one gap-free sequence.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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
from ostiary.store.schema import (
    audit_checkpoints,
    audit_heads,
    audit_records,
    inventory_items,
    inventory_servers,
    pins,
)

GENESIS = "0" * 64
PAGE = 2000
# Marks a transaction that only reads, so SQLite starts it DEFERRED instead of taking the write lock.
READ = {"ostiary_read": True}


def now_us() -> int:
    return time.time_ns() // 1000


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


def _checkpoint_row(cp: Checkpoint) -> JSON:
    return {
        "chain": cp.chain,
        "kind": cp.kind,
        "seq": cp.seq,
        "hash": cp.hash,
        "ts_us": cp.ts_us,
        "key_id": cp.key_id,
        "signature": cp.signature,
    }


class SqlStore:
    def __init__(self, engine: AsyncEngine, url: str) -> None:
        self.engine = engine
        self.url = url

    async def close(self) -> None:
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads only: on SQLite it does not take the write lock."""
        async with self.engine.connect() as conn:
            yield await conn.execution_options(**READ)

    def _upsert(self, table: Table, row: JSON, keys: Sequence[str]) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(table).values(**row)
        return stmt.on_conflict_do_update(
            index_elements=list(keys), set_={k: v for k, v in row.items() if k not in keys}
        )

    # ------------------------------------------------------------------ audit

    async def _lock_head(self, conn: AsyncConnection, chain: str) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        seed = {"chain": chain, "seq": 0, "hash": GENESIS, "checkpoint_seq": 0, "checkpoint_ts_us": now_us()}
        await conn.execute(dialect.insert(audit_heads).values(**seed).on_conflict_do_nothing())
        query = select(audit_heads).where(audit_heads.c.chain == chain)
        if self.engine.dialect.name == "postgresql":
            query = query.with_for_update()
        return (await conn.execute(query)).one()

    async def append_audit(self, chain: str, bodies: Sequence[JSON], sealer: Sealer) -> list[AuditRow]:
        try:
            async with self.engine.begin() as conn:
                head = await self._lock_head(conn, chain)
                seq, prev = head.seq, head.hash
                rows: list[AuditRow] = []
                for body in bodies:
                    seq += 1
                    canonical, digest = sealer.seal(seq, prev, body)
                    rows.append(
                        AuditRow(
                            chain,
                            seq,
                            int(body["ts_us"]),
                            digest,
                            prev,
                            canonical,
                            body.get("principal"),
                            body.get("server"),
                            body.get("target"),
                            str(body.get("method", "")),
                            str(body.get("action", "")),
                            str(body.get("code", "")),
                        )
                    )
                    prev = digest
                await conn.execute(insert(audit_records), [self._audit_values(r) for r in rows])
                values: JSON = {"seq": seq, "hash": prev}
                now = now_us()
                if sealer.checkpoint_due(seq - head.checkpoint_seq, (now - head.checkpoint_ts_us) / 1e6):
                    cp = sealer.checkpoint(chain, "periodic", seq, prev, now)
                    await conn.execute(insert(audit_checkpoints).values(**_checkpoint_row(cp)))
                    values |= {"checkpoint_seq": seq, "checkpoint_ts_us": now}
                await conn.execute(update(audit_heads).where(audit_heads.c.chain == chain).values(**values))
                return rows
        except SQLAlchemyError as exc:
            raise StoreError(f"audit append failed ({type(exc).__name__})") from exc

    @staticmethod
    def _audit_values(row: AuditRow) -> JSON:
        return {
            "chain": row.chain,
            "seq": row.seq,
            "ts_us": row.ts_us,
            "hash": row.hash,
            "prev": row.prev,
            "principal": row.principal,
            "server": row.server,
            "target": row.target,
            "method": row.method,
            "action": row.action,
            "code": row.code,
            "body": row.body,
        }

    async def checkpoint_head(self, chain: str, sealer: Sealer) -> Checkpoint | None:
        async with self.engine.begin() as conn:
            head = await self._lock_head(conn, chain)
            if head.seq in (0, head.checkpoint_seq):
                return None
            now = now_us()
            cp = sealer.checkpoint(chain, "periodic", head.seq, head.hash, now)
            await conn.execute(insert(audit_checkpoints).values(**_checkpoint_row(cp)))
            await conn.execute(
                update(audit_heads)
                .where(audit_heads.c.chain == chain)
                .values(checkpoint_seq=head.seq, checkpoint_ts_us=now)
            )
            return cp

    async def audit_head(self, chain: str) -> tuple[int, str] | None:
        async with self._reading() as conn:
            row = (await conn.execute(select(audit_heads).where(audit_heads.c.chain == chain))).first()
            return None if row is None else (row.seq, row.hash)

    async def audit_rows(self, chain: str, query: AuditQuery | None = None) -> AsyncIterator[AuditRow]:
        q = query or AuditQuery()
        t = audit_records.c
        base = select(audit_records).where(t.chain == chain)
        for column, value in (
            (t.principal, q.principal),
            (t.server, q.server),
            (t.target, q.target),
            (t.action, q.action),
            (t.code, q.code),
        ):
            if value is not None:
                base = base.where(column == value)
        if q.since_us is not None:
            base = base.where(t.ts_us >= q.since_us)
        if q.until_us is not None:
            base = base.where(t.ts_us < q.until_us)
        last, left = -1, q.limit
        while left is None or left > 0:
            page = min(PAGE, left) if left is not None else PAGE
            async with self._reading() as conn:
                result = await conn.execute(base.where(t.seq > last).order_by(t.seq).limit(page))
                batch = [_row_to_audit(r) for r in result]
            for row in batch:
                yield row
            if len(batch) < page:
                return
            last = batch[-1].seq
            left = None if left is None else left - len(batch)

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
        t = audit_records.c
        async with self.engine.begin() as conn:
            head = await self._lock_head(conn, chain)
            first_kept = (
                await conn.execute(select(func.min(t.seq)).where(t.chain == chain, t.ts_us >= before_us))
            ).scalar()
            if first_kept is None:
                first_kept, prev = head.seq + 1, head.hash
            else:
                found = (
                    await conn.execute(select(t.hash).where(t.chain == chain, t.seq == first_kept - 1))
                ).scalar()
                if found is None:
                    return 0
                prev = found
            gone = await conn.execute(delete(audit_records).where(t.chain == chain, t.seq < first_kept))
            if not gone.rowcount:
                return 0
            c = audit_checkpoints.c
            await conn.execute(delete(audit_checkpoints).where(c.chain == chain, c.seq < first_kept))
            await conn.execute(delete(audit_checkpoints).where(c.chain == chain, c.kind == "retention"))
            cp = sealer.checkpoint(chain, "retention", first_kept, prev, now_us())
            await conn.execute(insert(audit_checkpoints).values(**_checkpoint_row(cp)))
            return int(gone.rowcount)

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
        async with self.engine.begin() as conn:
            await conn.execute(self._upsert(pins, row, ("tenant", "server", "kind", "name")))

    # ------------------------------------------------------------------ inventory

    async def record_server(self, server: str, info: JSON) -> None:
        row = {"server": server, "info": orjson.dumps(info).decode(), "updated_us": now_us()}
        async with self.engine.begin() as conn:
            await conn.execute(self._upsert(inventory_servers, row, ("server",)))

    async def record_items(self, items: Sequence[InventoryItem]) -> None:
        if not items:
            return
        async with self.engine.begin() as conn:
            for item in items:
                row = {
                    "server": item.server,
                    "kind": item.kind,
                    "name": item.name,
                    "definition": orjson.dumps(item.definition).decode(),
                    "risk": item.risk,
                    "updated_us": item.updated_us or now_us(),
                }
                await conn.execute(self._upsert(inventory_items, row, ("server", "kind", "name")))

    async def inventory(self) -> tuple[list[InventoryServer], list[InventoryItem]]:
        async with self._reading() as conn:
            servers = await conn.execute(select(inventory_servers).order_by(inventory_servers.c.server))
            found = [InventoryServer(r.server, orjson.loads(r.info), r.updated_us) for r in servers]
            t = inventory_items.c
            items = await conn.execute(select(inventory_items).order_by(t.server, t.kind, t.name))
            listed = [
                InventoryItem(r.server, r.kind, r.name, orjson.loads(r.definition), r.risk, r.updated_us)
                for r in items
            ]
            return found, listed
