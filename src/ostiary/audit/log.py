"""The audit observer: records every decision, batching concurrent writers into one commit.

`observe()` returns only once its record is durable, so no message whose decision was not
recorded can move on (and no result can reach a client without its record, even if the gateway
is killed). If the store fails, every waiting call raises and the pipeline denies it (fail closed).

Two ways to the store. Where it can commit without waiting (the embedded SQLite database, free
of other gateways), commits run on the event loop: a lone record at once, the records that
follow it in the same turn of the loop together on the next turn. Otherwise (PostgreSQL, a
SQLite file another gateway holds) a writer task commits in the background, and while one
transaction commits the records arriving meanwhile queue up for the next, so a commit's cost
is shared by all of them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ostiary.audit.record import record_of
from ostiary.pipeline import Decision
from ostiary.store import Sealer, Store, StoreError

log = logging.getLogger("ostiary.audit")
CHAIN = "main"
GATHER_TURNS = 16


class AuditLog:
    def __init__(self, store: Store, sealer: Sealer, chain: str = CHAIN, batch_max: int = 1000) -> None:
        self.store = store
        self.sealer = sealer
        self.chain = chain
        self.batch_max = batch_max
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._committing = False
        self._flush_due = False
        self._burst = False

    async def start(self) -> None:
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="ostiary-audit-writer")

    async def observe(self, decision: Decision) -> None:
        await self.append(record_of(decision))

    async def append(self, body: dict[str, Any]) -> None:
        """Queue one record and wait until the batch holding it has committed."""
        if self._task is None or self._task.done() or self._closing:
            raise StoreError("the audit log is not running")
        loop = asyncio.get_running_loop()
        if not (self._pending or self._committing or self._burst):
            # The first record of this turn of the event loop commits at once where the store can
            # without waiting (an embedded database nobody else holds): a lone call pays only its
            # commit. Records that follow in the same turn are batched into one commit on the next.
            try:
                done = self.store.append_audit_now(self.chain, [body], self.sealer)
            except StoreError as exc:
                log.error("audit: a record could not be written (%s); its message is stopped", exc)
                raise StoreError("the audit record could not be written") from None
            if done is not None:
                self._burst = True
                loop.call_soon(self._end_burst)
                return
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append((body, future))
        if self._committing:
            self._wake.set()
        elif not self._flush_due:
            self._flush_due = True
            loop.call_soon(self._flush)
        await future

    def _end_burst(self) -> None:
        self._burst = False

    def _flush(self) -> None:
        """Commit on the event loop what this turn of it queued, where the store can do so without
        waiting (an embedded database nobody else holds); else leave it to the writer task."""
        self._flush_due = False
        if self._committing or not self._pending:
            return
        batch = self._pending[: self.batch_max]
        try:
            done = self.store.append_audit_now(self.chain, [body for body, _ in batch], self.sealer)
        except StoreError as exc:
            del self._pending[: len(batch)]
            self._fail(batch, exc)
            return
        if done is None:
            self._wake.set()
            return
        del self._pending[: len(batch)]
        self._done(batch)
        if self._pending:
            self._wake.set()

    async def _run(self) -> None:
        while not (self._closing and not self._pending):
            await self._wake.wait()
            self._wake.clear()
            await self._gather()
            while self._pending:
                batch = self._pending[: self.batch_max]
                del self._pending[: self.batch_max]
                await self._commit(batch)

    async def _gather(self) -> None:
        """Let the callers that are about to queue a record do so before the batch is cut.

        A caller released by the previous commit needs a few event-loop turns to produce its next
        record; cutting the batch at once would commit a handful of records per transaction.
        Waiting while the queue still grows (a few turns at most) keeps batches as large as the
        concurrency, at a cost of microseconds when there is only one caller.
        """
        for _ in range(GATHER_TURNS):
            before = len(self._pending)
            await asyncio.sleep(0)
            if len(self._pending) == before:
                return

    async def _commit(self, batch: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> None:
        self._committing = True
        try:
            await self.store.append_audit(self.chain, [body for body, _ in batch], self.sealer)
        except Exception as exc:
            self._fail(batch, exc)
            return
        finally:
            self._committing = False
        self._done(batch)

    @staticmethod
    def _done(batch: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> None:
        for _, future in batch:
            if not future.done():
                future.set_result(None)

    @staticmethod
    def _fail(batch: list[tuple[dict[str, Any], asyncio.Future[None]]], exc: Exception) -> None:
        log.error("audit: %d records could not be written (%s); their messages are stopped", len(batch), exc)
        failure = StoreError("the audit record could not be written")
        for _, future in batch:
            if not future.done():
                future.set_exception(failure)

    async def close(self) -> None:
        """Write what is queued, checkpoint the head, stop."""
        task = self._task
        if task is None:
            return
        self._closing = True
        self._wake.set()
        try:
            await task
        finally:
            self._task = None
        try:
            await self.store.checkpoint_head(self.chain, self.sealer)
        except Exception as exc:
            log.error("audit: the closing checkpoint could not be written (%s)", exc)
