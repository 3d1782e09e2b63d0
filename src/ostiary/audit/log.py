"""The audit observer: records every decision, batching concurrent writers into one commit.

`observe()` returns only once its record is durable, so no message whose decision was not
recorded can move on (and no result can reach a client without its record, even if the gateway
is killed). If the store fails, every waiting call raises and the pipeline denies it (fail closed).

On the embedded SQLite store (at synchronous=NORMAL, the default), and on PostgreSQL with
`audit.spool: true`, a record is durable once it is a line in this gateway's audit spool
(store/spool.py): one write(2), where a commit writes six WAL pages or waits for a database
server. The spooled records join the chain in batches, within a quarter of a second, from
a task of their own, off every message's path. From the moment the store refuses them, or falls
SPOOL_LIMIT records behind (another gateway holding the database), calls fail closed until it
takes them again; what was spooled stays in the spool until then, and a killed gateway's spool
is chained by the next gateway or `ostiary audit` to open the store.

Without a spool there are two ways to the store. Where it can commit without waiting (the
embedded SQLite database, free of other gateways), commits run on the event loop: a lone record
at once, the records that follow it in the same turn of the loop together on the next turn.
Otherwise (PostgreSQL, a SQLite file another gateway holds) a writer task commits in the
background, and while one transaction commits the records arriving meanwhile queue up for the
next, so a commit's cost is shared by all of them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

from ostiary.audit.canonical import canonical
from ostiary.audit.record import record_of
from ostiary.audit.witness import CapturingSealer, Witness
from ostiary.pipeline import Decision
from ostiary.store import AuditRow, Checkpoint, Sealer, Store, StoreError
from ostiary.store.base import SpoolKeeper, spool_keeper
from ostiary.store.spool import Mark, Spool

log = logging.getLogger("ostiary.audit")
CHAIN = "main"
GATHER_TURNS = 16
# Spooled records join the chain once SPOOL_INGEST_BATCH of them are waiting, or SPOOL_INGEST_AFTER
# seconds after the first of them, whichever comes first; at most batch_max go in one commit.
# A commit's CPU is paid on the event loop by whichever call is in flight, and on a store several
# gateways share it also waits for, and contends with, theirs: fewer, larger commits cost less.
# Records stay durable from the moment they are spooled; they become searchable up to
# SPOOL_INGEST_AFTER later.
SPOOL_INGEST_BATCH = 64
SPOOL_INGEST_AFTER = 0.25
# Records spooled but not yet chained beyond which calls fail closed.
SPOOL_LIMIT = 10_000
# While the store refuses records: how often to try again.
SPOOL_FAULT_RETRY = 0.5
# A spool larger than this is replaced by a new one once its records are in the chain.
SPOOL_ROTATE_BYTES = 16 << 20


class AuditLog:
    def __init__(
        self,
        store: Store,
        sealer: Sealer,
        chain: str = CHAIN,
        batch_max: int = 1000,
        spool: bool = True,
        witness: Witness | None = None,
        gateway: str | None = None,
    ) -> None:
        self.store = store
        # With a witness, the checkpoints signed in each commit are caught on the way so that the
        # committed ones can be witnessed (audit/witness.py).
        self._capture = CapturingSealer(sealer, []) if witness is not None else None
        self.sealer: Sealer = self._capture if self._capture is not None else sealer
        self.witness = witness
        # The gateway's name on every record: one store may hold the records of several gateways.
        self.gateway = gateway
        self._witnessing: set[asyncio.Task[None]] = set()
        self.chain = chain
        self.batch_max = batch_max
        # Waiting records that start a commit at once (a batch never exceeds batch_max).
        self._ingest_batch = min(SPOOL_INGEST_BATCH, batch_max)
        self.use_spool = spool
        self._spool: Spool | None = None
        self._spooled: list[tuple[dict[str, Any], Mark]] = []
        self._drain_at: asyncio.TimerHandle | None = None
        self._draining: asyncio.Task[None] | None = None
        self._fault: str | None = None
        self._retiring: Spool | None = None
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._committing = False
        self._flush_due = False
        self._burst = False

    async def start(self) -> None:
        """Chain what stopped gateways left in their spools, then open this log's own."""
        if self._task is None:
            self._closing = False
            keeper = spool_keeper(self.store)
            if keeper is not None:
                await keeper.recover_spools(self.sealer)
            if self.witness is not None:
                await self._anchor()
            if self.use_spool and keeper is not None:
                self._spool = await keeper.open_spool(self.chain, self.sealer)
            self._task = asyncio.create_task(self._run(), name="ostiary-audit-writer")

    async def observe(self, decision: Decision) -> None:
        body = record_of(decision)
        if self.gateway is not None:
            body["gateway"] = self.gateway
        await self.append(body)

    async def append(self, body: dict[str, Any]) -> None:
        """Record one body; returns once it is durable (in the spool, or committed)."""
        if self._task is None or self._task.done() or self._closing:
            raise StoreError("the audit log is not running")
        if self._spool is not None:
            self._append_spooled(self._spool, body)
            return
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
                self._witness_rows(done)
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

    # ------------------------------------------------------------------ spooled

    def _append_spooled(self, spool: Spool, body: dict[str, Any]) -> None:
        if self._fault is not None:
            raise StoreError(f"the audit store is failing ({self._fault})")
        if len(self._spooled) >= SPOOL_LIMIT:
            raise StoreError("the audit store is not keeping up")
        try:
            mark = spool.write(canonical(body))
        except StoreError as exc:
            log.error("audit: a record could not be spooled (%s); its message is stopped", exc)
            raise StoreError("the audit record could not be written") from None
        self._spooled.append((body, mark))
        if self._draining is None:
            waiting = len(self._spooled)
            if waiting == self._ingest_batch:
                self._drain_soon(0)
            elif self._drain_at is None and waiting < self._ingest_batch:
                self._drain_soon(SPOOL_INGEST_AFTER)

    def _drain_soon(self, delay: float) -> None:
        if self._drain_at is not None:
            self._drain_at.cancel()
        self._drain_at = asyncio.get_running_loop().call_later(delay, self._start_drain)

    def _start_drain(self) -> None:
        self._drain_at = None
        if self._draining is None and not self._closing:
            self._draining = asyncio.create_task(self._drain(), name="ostiary-audit-chain")

    def _batch(self) -> list[tuple[dict[str, Any], Mark]]:
        """The next records to chain: at most batch_max, all from one spool (whose mark moves)."""
        batch = self._spooled[: self.batch_max]
        name = batch[0][1].name
        if batch[-1][1].name != name:  # the spool was replaced: its records come first
            batch = list(itertools.takewhile(lambda entry: entry[1].name == name, batch))
        return batch

    async def _chain_spooled(self) -> None:
        """Chain every spooled record, batch_max to a commit: on the event loop where the store can
        (SQLite nobody else holds), else waiting for it; raises StoreError when the store refuses."""
        while self._spooled:
            batch = self._batch()
            rows = await self.store.append_audit(
                self.chain, [body for body, _ in batch], self.sealer, batch[-1][1]
            )
            del self._spooled[: len(batch)]
            self._witness_rows(rows)

    async def _drain(self) -> None:
        """Chain what is spooled; while the store refuses, fail calls and try again now and then;
        then replace a full spool, or remove the replaced one once all its records are chained."""
        try:
            while True:
                try:
                    await self._chain_spooled()
                    break
                except Exception as exc:  # any failure to chain stops calls: fail closed
                    # A store error says only what failed; anything else is named by its type.
                    fault = str(exc) if isinstance(exc, StoreError) else type(exc).__name__
                    if self._fault is None:
                        log.error("audit: the store refuses records (%s); calls stop until it does", fault)
                    self._fault = fault
                    if self._closing:
                        return
                    await asyncio.sleep(SPOOL_FAULT_RETRY)
            if self._fault is not None:
                log.warning("audit: the store takes records again; calls go on")
                self._fault = None
            if not self._closing:
                await self._rotate()
        finally:
            self._draining = None
            if self._spooled and not self._closing:
                self._drain_soon(0 if len(self._spooled) >= self._ingest_batch else SPOOL_INGEST_AFTER)

    async def _rotate(self) -> None:
        spool, retiring = self._spool, self._retiring
        try:
            if retiring is not None and all(mark.name != retiring.name for _, mark in self._spooled):
                self._retiring = None
                await _keeper(self.store).retire_spool(retiring)
            elif retiring is None and spool is not None and spool.size >= SPOOL_ROTATE_BYTES:
                fresh = await _keeper(self.store).open_spool(self.chain, self.sealer)
                if fresh is not None:
                    self._spool, self._retiring = fresh, spool
        except StoreError as exc:
            log.warning("audit: the spool could not be replaced or removed (%s); tried again later", exc)

    async def _close_spool(self, spool: Spool) -> None:
        """Chain everything spooled (waiting for other gateways if need be), remove the spool;
        if the store refuses, the spool stays for the next gateway to chain."""
        if self._drain_at is not None:
            self._drain_at.cancel()
            self._drain_at = None
        if self._draining is not None:
            await asyncio.wait([self._draining])
        self._spool = None
        spools = [s for s in (self._retiring, spool) if s is not None]
        self._retiring = None
        try:
            await self._chain_spooled()
        except Exception as exc:
            log.error(
                "audit: %d records stay in the spool for the next gateway to chain (%s)",
                len(self._spooled),
                exc,
            )
            for kept in spools:
                kept.close()
            return
        for done in spools:
            try:
                await _keeper(self.store).retire_spool(done)
            except StoreError as exc:
                log.error("audit: the emptied spool %s could not be removed (%s)", done.path, exc)

    # ------------------------------------------------------------------ direct

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
        self._witness_rows(done)
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
            rows = await self.store.append_audit(self.chain, [body for body, _ in batch], self.sealer)
        except Exception as exc:
            self._fail(batch, exc)
            return
        finally:
            self._committing = False
        self._witness_rows(rows)
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
        spool = self._spool
        if spool is not None:
            await self._close_spool(spool)
        try:
            closing = await self.store.checkpoint_head(self.chain, self.sealer)
        except Exception as exc:
            log.error("audit: the closing checkpoint could not be written (%s)", exc)
        else:
            if closing is not None:
                self._witness_checkpoints([closing])
        if self._witnessing:
            await asyncio.wait(self._witnessing)

    # ------------------------------------------------------------------ witness

    async def _anchor(self) -> None:
        """Witness the chain as this gateway finds it: its head checkpointed now, or else its
        latest checkpoint, so a witness started on an existing store covers what it holds."""
        try:
            cp = await self.store.checkpoint_head(self.chain, self.sealer)
            if cp is None:
                found = [c for c in await self.store.checkpoints(self.chain) if c.kind == "periodic"]
                cp = max(found, key=lambda c: c.seq) if found else None
        except StoreError as exc:
            log.error("audit: the chain head could not be anchored in the witness (%s)", exc)
            return
        if self._capture is not None:
            self._capture.signed.clear()
        if cp is not None:
            self._witness_checkpoints([cp])

    def _witness_rows(self, rows: list[AuditRow]) -> None:
        """Witness the checkpoints that the commit of `rows` signed."""
        capture = self._capture
        if capture is None or not capture.signed:
            return
        self._witness_checkpoints(capture.take({row.seq: row.hash for row in rows}))

    def _witness_checkpoints(self, checkpoints: list[Checkpoint]) -> None:
        witness = self.witness
        if witness is None or not checkpoints:
            return

        async def write() -> None:
            try:
                await witness.record(checkpoints)
            except Exception as exc:  # the records are safe in the store; the anchor is late
                log.error("audit: checkpoint %d could not be witnessed (%s)", checkpoints[-1].seq, exc)

        task = asyncio.get_running_loop().create_task(write(), name="ostiary-audit-witness")
        self._witnessing.add(task)
        task.add_done_callback(self._witnessing.discard)


def _keeper(store: Store) -> SpoolKeeper:
    """The spool keeper of a store this log has a spool in."""
    keeper = spool_keeper(store)
    assert keeper is not None
    return keeper
