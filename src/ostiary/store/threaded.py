"""A synchronous SQLAlchemy engine driven from asyncio, for the SQLite store.

SQLAlchemy's async layer (`sqlalchemy.ext.asyncio`) imports the ORM and greenlet, and aiosqlite
adds its own thread per connection: memory and start-up time at every start of `ostiary run`,
for a store that SQLite serves from a synchronous driver anyway. This offers
the part of `AsyncEngine` the store and its tests use (`connect`, `begin`, `dispose`, `dialect`,
`url`; `execute`, `exec_driver_sql`, `run_sync`, `execution_options` on a connection) over a
plain `Engine`.

Each checked-out connection runs its statements, in order, on a thread of its own, as aiosqlite
did: a write transaction waiting for SQLite's lock (busy timeout) blocks that thread only, never
the event loop nor another connection. Results that carry rows are read in full on that thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import URL, Connection, CursorResult, Dialect, Engine, Executable, Result

P = ParamSpec("P")
T = TypeVar("T")


class ThreadedConnection:
    """One pooled connection; every call runs on this connection's own worker thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ostiary-store")
        self._connection: Connection | None = None

    async def _call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    @property
    def sync_connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the connection is not open")
        return self._connection

    @property
    def dialect(self) -> Dialect:
        return self._engine.dialect

    async def open(self) -> ThreadedConnection:
        try:
            self._connection = await self._call(self._engine.connect)
        except BaseException:
            self._executor.shutdown(wait=False)
            raise
        return self

    async def close(self) -> None:
        try:
            if self._connection is not None:
                await self._call(self._connection.close)
        finally:
            self._connection = None
            self._executor.shutdown(wait=False)

    async def __aenter__(self) -> ThreadedConnection:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def execution_options(self, **options: Any) -> ThreadedConnection:
        self.sync_connection.execution_options(**options)
        return self

    async def execute(self, statement: Executable, parameters: Any = None) -> Result[Any]:
        return await self._call(_buffered, self.sync_connection.execute, statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Result[Any]:
        return await self._call(_buffered, self.sync_connection.exec_driver_sql, statement, parameters)

    async def run_sync(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return await self._call(fn, self.sync_connection, *args, **kwargs)

    async def commit(self) -> None:
        await self._call(self.sync_connection.commit)

    async def rollback(self) -> None:
        await self._call(self.sync_connection.rollback)


def _buffered(run: Callable[[Any, Any], CursorResult[Any]], statement: Any, parameters: Any) -> Result[Any]:
    """Run a statement and, if it returns rows, fetch them all here, on the connection's thread."""
    result = run(statement, parameters)
    return result.freeze()() if result.returns_rows else result


class ThreadedEngine:
    """What the store asks of an `AsyncEngine`, over a synchronous `Engine`."""

    def __init__(self, engine: Engine) -> None:
        self.sync_engine = engine

    @property
    def dialect(self) -> Dialect:
        return self.sync_engine.dialect

    @property
    def url(self) -> URL:
        return self.sync_engine.url

    def connect(self) -> ThreadedConnection:
        """A connection, opened by `async with`; a transaction begins with the first statement."""
        return ThreadedConnection(self.sync_engine)

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[ThreadedConnection]:
        """One transaction, committed when the block ends and rolled back if it raises."""
        async with self.connect() as connection:
            await connection.run_sync(Connection.begin)
            try:
                yield connection
            except BaseException:
                await connection.rollback()
                raise
            await connection.commit()

    async def dispose(self) -> None:
        self.sync_engine.dispose()
