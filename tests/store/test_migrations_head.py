"""The start-up shortcuts that skip Alembic must know the real newest migration and its schema."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import make_url

from ostiary.store.engine import HEAD_REVISION, MIGRATIONS, _upgrade, create_engine, migrate
from ostiary.store.testing import BACKENDS, DEFAULT_POSTGRES, POSTGRES_ENV, _admin


def test_the_known_head_revision_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


# ---------------------------------------------------------------- a new store without Alembic


@pytest.fixture(params=BACKENDS)
def two_empty_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield (f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
        return
    base = make_url(os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES))
    names = [f"ostiary_schema_{os.getpid()}_{secrets.token_hex(4)}" for _ in range(2)]
    for name in names:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield tuple(base.set(database=n).render_as_string(hide_password=False) for n in names)  # type: ignore[misc]
    finally:
        for name in names:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _describe(connection: Connection) -> dict[str, Any]:
    """Everything about the schema that a query or a later migration could notice."""
    inspector = inspect(connection)
    found: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        found[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"), c.get("autoincrement"))
                for c in inspector.get_columns(table)
            ],
            "primary key": inspector.get_pk_constraint(table),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), i["unique"]) for i in inspector.get_indexes(table)
            ),
            "unique": inspector.get_unique_constraints(table),
        }
    if connection.dialect.name == "sqlite":
        rows = connection.execute(text("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"))
        found["sqlite_master"] = [tuple(r) for r in rows]
    found["version"] = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    return found


async def _schema(url: str, build: Callable[[Connection], None] | None) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        if build is None:
            await migrate(engine)
        else:
            async with engine.begin() as connection:
                await connection.run_sync(build)
        async with engine.connect() as connection:
            return await connection.run_sync(_describe)
    finally:
        await engine.dispose()


async def test_a_new_store_has_exactly_the_schema_the_migrations_build(
    two_empty_databases: tuple[str, str],
) -> None:
    created, migrated = two_empty_databases
    assert await _schema(created, None) == await _schema(migrated, _upgrade)


def test_a_new_store_is_created_without_loading_alembic(tmp_path: Path) -> None:
    probe = (
        "import asyncio, sys\n"
        "from ostiary.store import open_url\n"
        "async def main():\n"
        f"    store = await open_url('sqlite+aiosqlite:///{tmp_path / 'new.db'}')\n"
        "    await store.close()\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
