"""What every store-reading command shares: the optional `--config` and opening its store.

The store URL is the configuration's `store`, overridden by `OSTIARY_STORE`; without a
configuration file the defaults apply (the SQLite store in the user's data directory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ostiary.config import Config, ConfigError, load

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Configuration file (default: built-in defaults).", exists=True),
]


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        return load(path)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
