"""`ostiary audit`: verify the chain, search and export records, prune by age."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from ostiary.audit import AuditKeyError, HmacSealer, sealer_from_config, verify
from ostiary.audit.export import jsonl
from ostiary.audit.verify import WitnessedPoint
from ostiary.cli.storeopts import ConfigOption, fail, load_config, with_store
from ostiary.config import Config
from ostiary.store import AuditQuery, AuditRow, Store, StoreError
from ostiary.store.base import spool_keeper

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

RELATIVE = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Codes of approval events (approvals/records.py) and of the calls an approval decided.
APPROVAL_CODES = ("approval.",)
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
    return config.audit.chain


def _sealer(config: Config) -> HmacSealer:
    try:
        return sealer_from_config(config, create_key=False)
    except AuditKeyError as exc:
        raise fail(str(exc)) from None


WitnessOption = Annotated[
    Path | None,
    typer.Option(
        "--witness",
        help="Witness entries to check against (default: the configured witness file). Lines "
        "collected from syslog or a webhook can be given here as a file.",
    ),
]


@app.command("verify")
def verify_command(config: ConfigOption = None, witness: WitnessOption = None) -> None:
    """Check the whole chain, and against the witness; exit 0 if intact, 1 with the first bad
    record otherwise. The first line says what was checked against."""
    cfg = load_config(config)
    sealer = _sealer(cfg)
    against = _witness_points(cfg, witness)

    async def check(store: Store) -> int:
        await _chain_spooled(store, sealer)
        points, described = against
        typer.echo(f"checked against: {described}")
        report = await verify(store, sealer, _chain(cfg), points)
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


@app.command("witness-key")
def witness_key_command(config: ConfigOption = None) -> None:
    """Print the witness's Ed25519 public key, for `audit.witness.public_key` on a verifier."""
    from ostiary.audit.witness import (  # noqa: PLC0415
        WitnessError,
        load_seed,
        public_key_of,
        settings_of,
    )

    cfg = load_config(config)
    settings = settings_of(cfg.audit, cfg.store_url(), cfg.base_dir)
    try:
        typer.echo(public_key_of(load_seed(settings.key_file, create=False)))
    except WitnessError as exc:
        raise fail(str(exc)) from None


def _witness_points(cfg: Config, given: Path | None) -> tuple[list[WitnessedPoint], str]:
    """The witnessed checkpoints of this chain, and a line saying what verify checks against.

    No witness file (or no key to check it with) means the database alone is checked, and the
    line says so; a witness that cannot be trusted (a forged or altered line) is an error."""
    from ostiary.audit.witness import (  # noqa: PLC0415  (loads cryptography: verify only)
        WitnessError,
        load_seed,
        public_key_of,
        read_witness,
        settings_of,
        store_identity,
    )

    url = cfg.store_url()
    try:
        settings = settings_of(cfg.audit, url, cfg.base_dir)
    except WitnessError as exc:
        raise fail(str(exc)) from None
    path = given if given is not None else settings.file
    if path is None:
        return [], "database only (no witness file: audit.witness has none; give --witness FILE)"
    if not path.exists():
        if given is not None:
            raise fail(f"the witness {path} does not exist")
        return [], f"database only (the witness file {path} does not exist)"
    public = settings.public_key
    if public is None:
        try:
            public = public_key_of(load_seed(settings.key_file, create=False))
        except WitnessError:
            detail = f"no key to check the witness {path}: set audit.witness.public_key"
            if given is not None:
                raise fail(detail) from None
            return [], f"database only ({detail})"
    try:
        reading = read_witness(path, public, store_identity(url))
    except WitnessError as exc:
        raise fail(str(exc)) from None
    if reading.problem is not None:
        typer.echo(f"checked against: database and witness {path}")
        typer.echo(f"TAMPERED: witness: {path}: {reading.problem}")
        raise typer.Exit(1)
    chain = _chain(cfg)
    points = [
        WitnessedPoint(e.seq, e.hash, f"line {e.line} of {path}")
        for e in reading.entries
        if e.chain == chain and e.kind == "periodic"
    ]
    high = max((p.seq for p in points), default=0)
    described = (
        f"database and witness {path} ({len(points)} checkpoints up to record {high}, Ed25519 key {public})"
    )
    return points, described


async def _chain_spooled(store: Store, sealer: HmacSealer) -> None:
    """Chain what a killed gateway left in its audit spool, so the log read here is whole. Where
    that cannot be done (a reader without write access), say so and read what is chained: the
    spool stays for the next gateway to start."""
    keeper = spool_keeper(store)
    try:
        if keeper is not None:
            await keeper.recover_spools(sealer)
    except StoreError as exc:
        typer.echo(f"warning: records left in an audit spool could not be chained ({exc})", err=True)


async def _recover(cfg: Config, store: Store) -> None:
    try:
        sealer = sealer_from_config(cfg, create_key=False)
    except AuditKeyError:
        return  # no key here, so nothing to chain with: the next gateway to start does it
    await _chain_spooled(store, sealer)


def _write_jsonl(cfg: Config, query: AuditQuery, sink: BinaryIO, approvals: bool = False) -> int:
    async def stream(store: Store) -> int:
        await _recover(cfg, store)
        count = 0
        async for row in _rows(store, _chain(cfg), query, approvals):
            sink.write(jsonl(row))
            count += 1
        return count

    return with_store(cfg, stream)


async def _rows(store: Store, chain: str, query: AuditQuery, approvals: bool) -> AsyncIterator[AuditRow]:
    """The query's records; with `approvals`, only approval events and the calls they decided."""
    if not approvals:
        async for row in store.audit_rows(chain, query):
            yield row
        return
    found = 0
    async for row in store.audit_rows(chain, replace(query, limit=None)):
        if row.code.startswith(APPROVAL_CODES):
            yield row
            found += 1
            if query.limit is not None and found >= query.limit:
                return


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
    approvals: Annotated[
        bool, typer.Option("--approvals", help="Only approval events (requested, decided, expired…).")
    ] = False,
) -> None:
    """Find records by principal, server, tool, verdict and time range, newest first."""
    cfg = load_config(config)
    query = AuditQuery(
        principal, server, tool, _verdict(verdict), code, parse_time(since), parse_time(until), limit,
        newest_first=not oldest_first, before_seq=before,
    )  # fmt: skip
    if as_json:
        _write_jsonl(cfg, query, sys.stdout.buffer, approvals)
        return
    from ostiary.cli.auditview import print_rows  # noqa: PLC0415  (only the table output needs rich)

    async def collect(store: Store) -> tuple[list[AuditRow], int]:
        await _recover(cfg, store)
        rows = [row async for row in _rows(store, _chain(cfg), query, approvals)]
        total = len(rows) if approvals else await store.count_audit(_chain(cfg), query)
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
    # Created 0600, as the store is: an export holds whole tool arguments.
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(descriptor, "wb") as sink:
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
    days = older_than if older_than is not None else cfg.audit.retention_days
    if days is None:
        raise fail("give --older-than DAYS or set audit.retention_days")
    sealer = _sealer(cfg)
    cutoff = int((dt.datetime.now(dt.UTC).timestamp() - float(days) * 86400) * 1e6)

    async def prune(store: Store) -> int:
        keeper = spool_keeper(store)
        if keeper is not None:
            await keeper.recover_spools(sealer)
        return await store.prune_audit(_chain(cfg), cutoff, sealer)

    removed = with_store(cfg, prune)
    typer.echo(f"pruned {removed} records older than {days} days")


@app.command("trace")
def trace_command(
    record: Annotated[int, typer.Argument(help="The call's record number (seq, as search shows it).")],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the chain as JSON.")] = False,
) -> None:
    """The chain behind a call: the fragments its arguments echo and the results they came from."""
    import json  # noqa: PLC0415

    from ostiary.provenance.report import Chain, TraceError, render, trace  # noqa: PLC0415

    cfg = load_config(config)

    async def build(store: Store) -> Chain | str:
        await _recover(cfg, store)
        try:
            return await trace(store, _chain(cfg), record)
        except TraceError as exc:
            return str(exc)

    found = with_store(cfg, build)
    if isinstance(found, str):
        raise fail(found)
    if as_json:
        typer.echo(json.dumps(found.as_dict(), indent=2))
        return
    for line in render(found):
        typer.echo(line)
