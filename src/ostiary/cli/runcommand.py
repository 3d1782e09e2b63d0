"""`ostiary run` as Typer knows it: its help in the same style as every other command. Running
it goes through `cli/run.py`'s own parser, which a host's launch reaches without loading Typer."""

from __future__ import annotations

from typing import Annotated

import typer

from ostiary.cli.run import DEFAULT_CONFIG_ENV, main


def command(
    config: Annotated[
        str | None,
        typer.Option("--config", "-c", envvar=DEFAULT_CONFIG_ENV, help="YAML or mcpServers JSON."),
    ] = None,
    log_level: Annotated[
        str, typer.Option(envvar="OSTIARY_LOG_LEVEL", help="debug, info, warning or error (on stderr).")
    ] = "info",
) -> None:
    """Serve one MCP host over stdio: what a desktop host launches."""
    argv = ["--log-level", log_level] + (["--config", config] if config else [])
    raise SystemExit(main(argv))
