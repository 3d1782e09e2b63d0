"""Pytest fixtures for code that needs a real store: SQLite in a temporary directory, and a
fresh PostgreSQL database per test session (dropped at the end).

Import the fixtures into a `conftest.py`. PostgreSQL is never skipped: if it cannot be reached
the tests that asked for it fail, because CI runs them. `OSTIARY_TEST_POSTGRES` names the server
(default: the loopback one, user postgres).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ostiary.store import SqlStore, open_url
from ostiary.store.schema import metadata

POSTGRES_ENV = "OSTIARY_TEST_POSTGRES"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _admin_dsn() -> str:
    url = make_url(os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_admin_dsn(), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test session."""
    name = f"ostiary_test_{os.getpid()}_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES)).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def empty_store(url: str) -> SqlStore:
    """Open the store at `url` with every table emptied (a shared PostgreSQL database)."""
    store = await open_url(url)
    if store.engine.dialect.name == "postgresql":
        names = ", ".join(table.name for table in metadata.sorted_tables)
        async with store.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names}"))
    return store


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store' / 'ostiary.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SqlStore]:
    opened = await empty_store(store_url)
    try:
        yield opened
    finally:
        await opened.close()
