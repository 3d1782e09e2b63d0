"""What every store-reading command shares: the optional `--config`, and running one piece of
work against its store with errors reported the same way (exit code 2, no traceback).

The store URL is the configuration's `store`, overridden by `OSTIARY_STORE`; without a
configuration file the defaults apply (the SQLite store in the user's data directory).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from ostiary.config import Config, ConfigError, load
from ostiary.store import Store, StoreError, open_store, shown

T = TypeVar("T")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Configuration file (default: built-in defaults).", exists=True),
]


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        return load(path)
    except ConfigError as exc:
        raise fail(str(exc)) from None


def with_store(config: Config, work: Callable[[Store], Awaitable[T]]) -> T:
    """Open the configured store, run `work` on it, close it; a store error exits with code 2.

    A command never creates a store: one that is missing or mistyped is an error naming its URL.
    Which store was read is said on stderr, so output piped elsewhere stays clean."""
    typer.echo(f"store: {shown(config.store_url())}", err=True)

    async def run() -> T:
        store = await open_store(config, must_exist=True)
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except StoreError as exc:
        raise fail(str(exc)) from None
