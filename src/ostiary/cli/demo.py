"""`ostiary demo`: play the attacks Ostiary stops, with and without it, and show the audit log."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer


def command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text.")] = False,
) -> None:
    """Start a hostile MCP server, play six attacks straight at it and through Ostiary, and show
    what reached the model each time and where each decision is in the audit log."""
    from ostiary.demo.play import as_json as to_json  # noqa: PLC0415
    from ostiary.demo.play import render, run_demo  # noqa: PLC0415

    attacks = asyncio.run(run_demo())
    if as_json:
        typer.echo(json.dumps(to_json(attacks), indent=2, ensure_ascii=False))
        return
    typer.echo(render(attacks))
