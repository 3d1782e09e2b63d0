"""`ostiary audit`: verify the chain, search and export records, prune by age."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from ostiary.audit import CHAIN, AuditKeyError, HmacSealer, sealer_from_config, verify
from ostiary.audit.export import jsonl
from ostiary.cli.storeopts import ConfigOption, fail, load_config, with_store
from ostiary.config import Config
from ostiary.store import AuditQuery, AuditRow, Store, StoreError

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

RELATIVE = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
Since = Annotated[str | None, typer.Option(help="From this time: ISO 8601 or relative (15m, 2h, 7d).")]
Until = Annotated[str | None, typer.Option(help="Before this time: ISO 8601 or relative.")]
Principal = Annotated[str | None, typer.Option(help="Only this principal (subject).")]
Server = Annotated[str | None, typer.Option(help="Only this server (configured name).")]
Tool = Annotated[str | None, typer.Option(help="Only this tool, prompt or resource URI.")]
Verdict = Annotated[
    str | None, typer.Option(help="Only this verdict: allow, deny (or denied), modify, hold.")
]
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


def _chain(config: Config) -> str:
    return str(config.audit.get("chain", CHAIN))


def _sealer(config: Config) -> HmacSealer:
    try:
        return sealer_from_config(config, create_key=False)
    except AuditKeyError as exc:
        raise fail(str(exc)) from None


@app.command("verify")
def verify_command(config: ConfigOption = None) -> None:
    """Check the whole chain; exit 0 if intact, 1 with the first bad record otherwise."""
    cfg = load_config(config)
    sealer = _sealer(cfg)

    async def check(store: Store) -> int:
        await _chain_spooled(store, sealer)
        report = await verify(store, sealer, _chain(cfg))
        if report.problem is None:
            typer.echo(
                f"intact: records {report.first_seq}..{report.last_seq} "
                f"({report.records} records, {report.checkpoints} signed checkpoints)"
            )
            return 0
        problem = report.problem
        where = f" at record {problem.seq}" if problem.seq else ""
        typer.echo(f"TAMPERED{where}: {problem.kind}: {problem.detail}")
        return 1

    raise typer.Exit(with_store(cfg, check))


async def _chain_spooled(store: Store, sealer: HmacSealer) -> None:
    """Chain what a killed gateway left in its audit spool, so the log read here is whole. Where
    that cannot be done (a reader without write access), say so and read what is chained: the
    spool stays for the next gateway to start."""
    try:
        await store.recover_spools(sealer)
    except StoreError as exc:
        typer.echo(f"warning: records left in an audit spool could not be chained ({exc})", err=True)


async def _recover(cfg: Config, store: Store) -> None:
    try:
        sealer = sealer_from_config(cfg, create_key=False)
    except AuditKeyError:
        return  # no key here, so nothing to chain with: the next gateway to start does it
    await _chain_spooled(store, sealer)


def _write_jsonl(cfg: Config, query: AuditQuery, sink: BinaryIO) -> int:
    async def stream(store: Store) -> int:
        await _recover(cfg, store)
        count = 0
        async for row in store.audit_rows(_chain(cfg), query):
            sink.write(jsonl(row))
            count += 1
        return count

    return with_store(cfg, stream)


# What people type for a verdict, as the records spell it.
VERDICTS = {"denied": "deny", "allowed": "allow", "modified": "modify", "held": "hold"}


def _verdict(text: str | None) -> str | None:
    return None if text is None else VERDICTS.get(text, text)


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
    before: Annotated[
        int | None, typer.Option(help="Only records before this sequence number: the next page.")
    ] = None,
    oldest_first: Annotated[bool, typer.Option("--oldest-first", help="Oldest records first.")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="Every column in full, whatever the width.")] = False,
    pager: Annotated[bool, typer.Option(help="Page the table on a terminal.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines (the export schema).")] = False,
) -> None:
    """Find records by principal, server, tool, verdict and time range, newest first."""
    cfg = load_config(config)
    query = AuditQuery(
        principal, server, tool, _verdict(verdict), code, parse_time(since), parse_time(until), limit,
        newest_first=not oldest_first, before_seq=before,
    )  # fmt: skip
    if as_json:
        _write_jsonl(cfg, query, sys.stdout.buffer)
        return
    from ostiary.cli.auditview import print_rows  # noqa: PLC0415  (only the table output needs rich)

    async def collect(store: Store) -> tuple[list[AuditRow], int]:
        await _recover(cfg, store)
        rows = [row async for row in store.audit_rows(_chain(cfg), query)]
        total = await store.count_audit(_chain(cfg), query)
        return rows, total

    rows, total = with_store(cfg, collect)
    print_rows(rows, total, wide=wide, pager=pager, oldest_first=oldest_first)


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
    query = AuditQuery(principal, server, tool, _verdict(verdict), code, parse_time(since), parse_time(until))
    if output is None:
        _write_jsonl(cfg, query, sys.stdout.buffer)
        return
    with output.open("wb") as sink:
        count = _write_jsonl(cfg, query, sink)
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
        raise fail("give --older-than DAYS or set audit.retention_days")
    sealer = _sealer(cfg)
    cutoff = int((dt.datetime.now(dt.UTC).timestamp() - float(days) * 86400) * 1e6)

    async def prune(store: Store) -> int:
        await store.recover_spools(sealer)
        return await store.prune_audit(_chain(cfg), cutoff, sealer)

    removed = with_store(cfg, prune)
    typer.echo(f"pruned {removed} records older than {days} days")
