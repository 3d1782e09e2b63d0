"""Approval requests in the gateway's store (SQLite or PostgreSQL), changed only by compare-and-set.

Every transition is one UPDATE guarded by the status it starts from, so two reviewers on two
replicas cannot both decide one request, and one approval cannot run two calls. On PostgreSQL a
decision also sends a notification on `CHANNEL` in the same transaction, which wakes the replica
holding the call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy import select, text, update
from sqlalchemy.exc import SQLAlchemyError

from ostiary.approvals.request import APPROVED, PENDING, ApprovalRequest
from ostiary.store import SqlStore, StoreError
from ostiary.store.schema import approval_requests as table
from ostiary.store.sql import READ

CHANNEL = "ostiary_approvals"
_COLUMNS = (
    "id", "status", "created_us", "expires_us", "heartbeat_us", "decided_us", "used_us", "holder",
    "mode", "principal", "principal_key", "session", "server", "method", "target", "args_hash", "reviewer",
)  # fmt: skip


def _row(request: ApprovalRequest) -> dict[str, Any]:
    row = {name: getattr(request, name) for name in _COLUMNS}
    row["document"] = orjson.dumps(request.document).decode()
    return row


def _request(row: Any) -> ApprovalRequest:
    values = {name: getattr(row, name) for name in _COLUMNS}
    return ApprovalRequest(**values, document=orjson.loads(row.document))


class ApprovalStore:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.postgres = store.engine.dialect.name == "postgresql"

    async def _read(self, query: Any) -> list[ApprovalRequest]:
        try:
            async with self.store.engine.connect() as conn:
                reading = await conn.execution_options(**READ)
                return [_request(r) for r in await reading.execute(query)]
        except SQLAlchemyError as exc:
            raise StoreError(f"approvals could not be read ({type(exc).__name__})") from exc

    async def _update(self, statement: Any, notify: str | None = None) -> int:
        try:
            async with self.store.engine.begin() as conn:
                result = await conn.execute(statement)
                changed = int(getattr(result, "rowcount", 0) or 0)
                if changed and notify is not None and self.postgres:
                    await conn.execute(
                        text("SELECT pg_notify(:channel, :id)"), {"channel": CHANNEL, "id": notify}
                    )
                return changed
        except SQLAlchemyError as exc:
            raise StoreError(f"approvals could not be written ({type(exc).__name__})") from exc

    async def create(self, request: ApprovalRequest) -> None:
        try:
            async with self.store.engine.begin() as conn:
                await conn.execute(table.insert().values(**_row(request)))
        except SQLAlchemyError as exc:
            raise StoreError(f"an approval request could not be stored ({type(exc).__name__})") from exc

    async def get(self, request_id: str) -> ApprovalRequest | None:
        found = await self._read(select(table).where(table.c.id == request_id))
        return found[0] if found else None

    async def many(self, ids: Iterable[str]) -> list[ApprovalRequest]:
        wanted = list(ids)
        if not wanted:
            return []
        return await self._read(select(table).where(table.c.id.in_(wanted)))

    async def recent(self, statuses: Iterable[str] | None = None, limit: int = 100) -> list[ApprovalRequest]:
        query = select(table)
        if statuses is not None:
            query = query.where(table.c.status.in_(list(statuses)))
        return await self._read(query.order_by(table.c.created_us.desc()).limit(limit))

    async def reusable(self, principal_key: str, args_hash: str, now_us: int) -> list[ApprovalRequest]:
        """Requests an identical call by the same principal may wait on or use: pending, or
        approved and unused, and not expired; newest first."""
        c = table.c
        query = (
            select(table)
            .where(c.args_hash == args_hash, c.principal_key == principal_key, c.expires_us > now_us)
            .where(c.status.in_([PENDING, APPROVED]), c.used_us.is_(None))
            .order_by(c.created_us.desc())
        )
        return await self._read(query)

    async def decide(self, decided: ApprovalRequest, now_us: int, stale_before_us: int) -> bool:
        """Record a reviewer's decision if the request is still pending, unexpired, and (for a
        held call) its holder is alive. False: someone else decided first, or it is too late."""
        c = table.c
        statement = (
            update(table)
            .where(c.id == decided.id, c.status == PENDING, c.expires_us > now_us)
            .where((c.mode != "wait") | (c.heartbeat_us >= stale_before_us))
            .values(
                status=decided.status,
                decided_us=decided.decided_us,
                expires_us=decided.expires_us,
                reviewer=decided.reviewer,
                document=orjson.dumps(decided.document).decode(),
            )
        )
        return await self._update(statement, notify=decided.id) == 1

    async def finish(self, request_id: str, status: str, now_us: int) -> bool:
        """End a request nobody decided (expired, cancelled, abandoned)."""
        c = table.c
        statement = (
            update(table)
            .where(c.id == request_id, c.status == PENDING)
            .values(status=status, decided_us=now_us)
        )
        return await self._update(statement, notify=request_id) == 1

    async def use(self, request_id: str, args_hash: str, now_us: int) -> bool:
        """Spend an approval on the call it was given for: at most once, for the same arguments."""
        c = table.c
        statement = (
            update(table)
            .where(c.id == request_id, c.status == APPROVED, c.used_us.is_(None), c.args_hash == args_hash)
            .where(c.expires_us > now_us)
            .values(used_us=now_us)
        )
        return await self._update(statement) == 1

    async def heartbeat(self, holder: str, now_us: int) -> None:
        c = table.c
        await self._update(
            update(table).where(c.holder == holder, c.status == PENDING).values(heartbeat_us=now_us)
        )

    async def sweep(self, now_us: int, stale_us: int) -> list[ApprovalRequest]:
        """Write down what readers already see: pending requests past expiry are expired, those
        whose holder died are abandoned. Returns the requests changed, as they are now."""
        c = table.c
        pending = await self._read(select(table).where(c.status == PENDING))
        changed = []
        for request in pending:
            status = request.shown_status(now_us, stale_us)
            if status != PENDING and await self.finish(request.id, status, now_us):
                changed.append(replace(request, status=status, decided_us=now_us))
        return changed
