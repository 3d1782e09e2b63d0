"""Parks held calls until their request is decided, wherever the decision was made.

A decision may come from this gateway (an answer in the conversation, the HTTP API), from
`ostiary approvals` in another process, or from another replica. On PostgreSQL the deciding
transaction notifies (LISTEN/NOTIFY) and the holder wakes at once; a slower poll stays as the
safety net for a lost connection. On SQLite there is nobody to notify, so the holder polls.
The broker also beats the heart of the requests this gateway holds: a request whose holder
stops beating is shown as abandoned, and nobody can approve it any more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from ostiary import secretref
from ostiary.approvals.request import FINAL, ApprovalRequest
from ostiary.approvals.store import CHANNEL, ApprovalStore
from ostiary.store import StoreError, now_us

log = logging.getLogger("ostiary.approvals")
# On PostgreSQL, with notifications: how many poll intervals between safety-net polls.
NOTIFIED_POLL_FACTOR = 10


class Broker:
    def __init__(self, store: ApprovalStore, holder: str, poll_interval: float, heartbeat: float) -> None:
        self.store = store
        self.holder = holder
        self.poll_interval = poll_interval
        self.heartbeat = heartbeat
        self._waiting: dict[str, list[asyncio.Future[ApprovalRequest]]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: Any = None
        self._last_beat = 0.0

    async def start(self) -> None:
        if self.store.postgres:
            await self._listen()
        self._task = asyncio.create_task(self._run(), name="ostiary-approvals")

    async def _listen(self) -> None:
        import asyncpg  # noqa: PLC0415  (PostgreSQL only)
        from sqlalchemy.engine import make_url  # noqa: PLC0415

        url = self.store.store.url
        resolved = secretref.resolve(url) if secretref.has_reference(url) else url
        dsn = make_url(resolved).set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            self._listener = await asyncpg.connect(dsn, timeout=10)
            await self._listener.add_listener(CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("approvals: no notifications from the store (%s); polling", type(exc).__name__)
            self._listener = None

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload in self._waiting:
            self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None

    def poke(self) -> None:
        """Look now: a decision was just made in this process."""
        self._wake.set()

    async def wait(self, request_id: str) -> ApprovalRequest:
        """The request once it is final; the caller bounds the wait with the request's expiry."""
        future: asyncio.Future[ApprovalRequest] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(request_id, []).append(future)
        self._wake.set()
        try:
            return await future
        finally:
            waiters = self._waiting.get(request_id, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._waiting.pop(request_id, None)

    async def _run(self) -> None:
        interval = self.poll_interval * (NOTIFIED_POLL_FACTOR if self._listener is not None else 1)
        while True:
            if not self._waiting:
                await self._wake.wait()  # nothing held here: no polling, no heartbeat
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(interval, self.heartbeat)):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._look()
            except StoreError as exc:
                log.warning("approvals: the store could not be read (%s); trying again", exc)

    async def _look(self) -> None:
        loop = asyncio.get_running_loop()
        if not self._waiting:
            return
        if loop.time() - self._last_beat >= self.heartbeat:
            self._last_beat = loop.time()
            await self.store.heartbeat(self.holder, now_us())
        for request in await self.store.many(list(self._waiting)):
            if request.status in FINAL:
                for future in self._waiting.get(request.id, []):
                    if not future.done():
                        future.set_result(request)
