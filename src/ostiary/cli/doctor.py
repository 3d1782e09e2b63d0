"""`ostiary doctor`: check a gateway's configuration, servers, store and audit chain; say what to fix.

Exit status: 0 when every check passes, 1 when one fails.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

from ostiary.cli.run import DEFAULT_CONFIG_ENV


def command(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="The gateway's configuration (default: $OSTIARY_CONFIG)."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds each server gets to answer.")] = 15.0,
    connect: Annotated[bool, typer.Option(help="Start each server and list its tools.")] = True,
) -> None:
    """Check the configuration, every server command and connection, the store, its permissions,
    the inspections, the policy and the audit chain; print what to fix."""
    from ostiary import doctor  # noqa: PLC0415

    path = config or (Path(os.environ[DEFAULT_CONFIG_ENV]) if os.environ.get(DEFAULT_CONFIG_ENV) else None)
    cfg, checks = doctor.check_config(path)
    if cfg is not None:
        checks += doctor.check_inspections(cfg)
        checks += doctor.check_commands(cfg)

        async def live() -> list[doctor.Check]:
            found = await doctor.check_servers(cfg, timeout) if connect else []
            return found + await doctor.check_store(cfg)

        checks += asyncio.run(live())
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        typer.echo(f"{mark} {check.what}: {check.detail}")
        if not check.ok and check.fix:
            typer.echo(f"     fix: {check.fix}")
    failed = [c for c in checks if not c.ok]
    typer.echo(f"{len(checks) - len(failed)} of {len(checks)} checks passed")
    if failed:
        raise typer.Exit(1)
