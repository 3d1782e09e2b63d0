"""`ostiary scan`: find the MCP hosts on this machine, list their servers, report what is wrong.

Exit status: 0 when nothing was found, 1 when something was (for CI), 2 on a usage error.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

if TYPE_CHECKING:
    from ostiary.hosts.scan import ScanReport


def _print_table(report: ScanReport) -> None:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    console = Console()
    if not report.files:
        console.print("no MCP host configuration found")
        return
    table = Table("host", "server", "kind", "command or URL", "tools", "findings", title="MCP servers")
    for s in report.servers:
        tools = "-" if s.tools is None else str(len(s.tools))
        found = "behind Ostiary" if s.guarded else (str(len(s.issues)) if s.issues else "")
        table.add_row(s.title, s.name, s.kind, s.target, tools, found)
    console.print(table)
    for issue in report.issues:
        where = "/".join(p for p in (issue.host, issue.server, issue.tool or "") if p)
        console.print(f"[bold]{issue.level}[/bold] {issue.rule} {where}: {issue.message}", highlight=False)
    unguarded = sorted({s.file for s in report.servers if not s.guarded})
    for file in unguarded:
        console.print(f"to put Ostiary in front: ostiary import '{file}' --rewrite", highlight=False)


def command(
    connect: Annotated[
        bool, typer.Option("--connect", help="Start each server to check its tool definitions.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds each server gets with --connect.")] = 15.0,
    output: Annotated[
        Literal["table", "json", "sarif"], typer.Option("--format", help="table, json or sarif.")
    ] = "table",
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    home: Annotated[Path | None, typer.Option(help="Home folder to scan (default: yours).")] = None,
    system: Annotated[
        Literal["linux", "macos", "windows"] | None,
        typer.Option(help="Which OS layout of host paths (default: this one)."),
    ] = None,
    appdata: Annotated[Path | None, typer.Option(help="Windows %APPDATA% (default: from home).")] = None,
    project: Annotated[
        list[Path] | None, typer.Option(help="Also a project folder's .mcp.json, .vscode/mcp.json…")
    ] = None,
    pins: Annotated[
        bool, typer.Option(help="With --connect, compare definitions with the previous scan's.")
    ] = True,
) -> None:
    """Find MCP host configurations, list their servers, and report problems (exit 1 if any)."""
    from ostiary.hosts.catalog import locate  # noqa: PLC0415
    from ostiary.hosts.sarif import to_sarif  # noqa: PLC0415
    from ostiary.hosts.scan import scan  # noqa: PLC0415

    found = locate(home or Path.home(), system, appdata, tuple(project or ()))

    async def run() -> ScanReport:
        if not (connect and pins):
            return await scan(found, connect, timeout)
        from ostiary.config import AuditConfig, Config  # noqa: PLC0415
        from ostiary.store import open_store  # noqa: PLC0415

        store = await open_store(Config(audit=AuditConfig(enabled=False)))
        try:
            return await scan(found, connect, timeout, store)
        finally:
            await store.close()

    report = asyncio.run(run())
    fmt = "json" if as_json else output
    if fmt == "json":
        typer.echo(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    elif fmt == "sarif":
        typer.echo(json.dumps(to_sarif(report), indent=2, ensure_ascii=False))
    else:
        _print_table(report)
    if report.failed:
        raise typer.Exit(1)
