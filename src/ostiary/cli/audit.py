"""`ostiary audit`: verify the chain, search and export records, prune by age."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from ostiary.audit import CHAIN, AuditKeyError, sealer_from_config, verify
from ostiary.audit.export import iso, jsonl
from ostiary.cli.storeopts import ConfigOption, load_config
from ostiary.store import AuditQuery, StoreError, open_store

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

RELATIVE = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
Since = Annotated[str | None, typer.Option(help="From this time: ISO 8601 or relative (15m, 2h, 7d).")]
Until = Annotated[str | None, typer.Option(help="Before this time: ISO 8601 or relative.")]
Principal = Annotated[str | None, typer.Option(help="Only this principal (subject).")]
Server = Annotated[str | None, typer.Option(help="Only this server (configured name).")]
Tool = Annotated[str | None, typer.Option(help="Only this tool, prompt or resource URI.")]
Verdict = Annotated[str | None, typer.Option(help="Only this verdict: allow, deny, modify, hold.")]
Code = Annotated[str | None, typer.Option(help="Only this verdict code (e.g. pinning.quarantined).")]


def parse_time(text: str | None) -> int | None:
    if text is None:
        return None
    relative = RELATIVE.match(text.strip())
    if relative:
        seconds = int(relative.group(1)) * UNITS[relative.group(2)]
        return int((dt.datetime.now(dt.UTC).timestamp() - seconds) * 1e6)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is neither ISO 8601 nor a relative time like 2h") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1e6)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command("verify")
def verify_command(config: ConfigOption = None) -> None:
    """Check the whole chain; exit 0 if intact, 1 with the first bad record otherwise."""
    cfg = load_config(config)
    try:
        sealer = sealer_from_config(cfg, create_key=False)
    except AuditKeyError as exc:
        raise _fail(str(exc)) from None

    async def run() -> int:
        store = await open_store(cfg)
        try:
            report = await verify(store, sealer, str(cfg.audit.get("chain", CHAIN)))
        finally:
            await store.close()
        if report.problem is None:
            typer.echo(
                f"intact: records {report.first_seq}..{report.last_seq} "
                f"({report.records} records, {report.checkpoints} signed checkpoints)"
            )
            return 0
        problem = report.problem
        typer.echo(f"TAMPERED at record {problem.seq}: {problem.kind}: {problem.detail}")
        return 1

    try:
        code = asyncio.run(run())
    except StoreError as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(code)


def _query(
    principal: str | None,
    server: str | None,
    tool: str | None,
    verdict: str | None,
    code: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
) -> AuditQuery:
    return AuditQuery(principal, server, tool, verdict, code, parse_time(since), parse_time(until), limit)


@app.command("search")
def search_command(
    config: ConfigOption = None,
    principal: Principal = None,
    server: Server = None,
    tool: Tool = None,
    verdict: Verdict = None,
    code: Code = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, typer.Option(help="At most this many records.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines (the export schema).")] = False,
) -> None:
    """Find records by principal, server, tool, verdict and time range."""
    cfg = load_config(config)
    query = _query(principal, server, tool, verdict, code, since, until, limit)

    async def run() -> None:
        from rich.console import Console  # noqa: PLC0415  (only the table output needs rich)
        from rich.table import Table  # noqa: PLC0415

        store = await open_store(cfg)
        table = Table("seq", "time", "principal", "server", "target", "method", "verdict", "code")
        try:
            async for row in store.audit_rows(str(cfg.audit.get("chain", CHAIN)), query):
                if as_json:
                    sys.stdout.buffer.write(jsonl(row))
                    continue
                table.add_row(
                    str(row.seq), iso(row.ts_us), row.principal or "", row.server or "", row.target or "",
                    row.method, row.action, row.code,
                )  # fmt: skip
        finally:
            await store.close()
        if not as_json:
            Console().print(table)

    try:
        asyncio.run(run())
    except StoreError as exc:
        raise _fail(str(exc)) from None


@app.command("export")
def export_command(
    config: ConfigOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    principal: Principal = None,
    server: Server = None,
    tool: Tool = None,
    verdict: Verdict = None,
    code: Code = None,
    since: Since = None,
    until: Until = None,
) -> None:
    """Write records as JSON Lines in the documented SIEM schema (docs/audit.md)."""
    cfg = load_config(config)
    query = _query(principal, server, tool, verdict, code, since, until, None)

    async def run() -> int:
        store = await open_store(cfg)
        count = 0
        handle = output.open("wb") if output is not None else sys.stdout.buffer
        try:
            async for row in store.audit_rows(str(cfg.audit.get("chain", CHAIN)), query):
                handle.write(jsonl(row))
                count += 1
        finally:
            if output is not None:
                handle.close()
            await store.close()
        return count

    try:
        count = asyncio.run(run())
    except StoreError as exc:
        raise _fail(str(exc)) from None
    if output is not None:
        typer.echo(f"exported {count} records to {output}", err=True)


@app.command("prune")
def prune_command(
    config: ConfigOption = None,
    older_than: Annotated[
        float | None,
        typer.Option(help="Delete records older than this many days (default: audit.retention_days)."),
    ] = None,
) -> None:
    """Apply retention: delete old records and sign the log's new start so verify still passes."""
    cfg = load_config(config)
    days = older_than if older_than is not None else cfg.audit.get("retention_days")
    if days is None:
        raise _fail("give --older-than DAYS or set audit.retention_days")
    try:
        sealer = sealer_from_config(cfg, create_key=False)
    except AuditKeyError as exc:
        raise _fail(str(exc)) from None
    cutoff = int((dt.datetime.now(dt.UTC).timestamp() - float(days) * 86400) * 1e6)

    async def run() -> int:
        store = await open_store(cfg)
        try:
            return await store.prune_audit(str(cfg.audit.get("chain", CHAIN)), cutoff, sealer)
        finally:
            await store.close()

    try:
        removed = asyncio.run(run())
    except StoreError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"pruned {removed} records older than {days} days")
