"""`ostiary approvals`: list held calls, read one, approve or deny it from a terminal.

The reviewer is the OS user running the command, or, with `--as TOKEN`, the principal the
gateway's `auth:` section makes of that bearer token or API key. The decision is written to the
store (where the holding gateway sees it) and to the audit chain, naming the reviewer.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Annotated, Any

import typer

from ostiary.approvals.records import approval_record
from ostiary.approvals.request import PENDING, ApprovalRequest, ReviewError
from ostiary.approvals.review import review
from ostiary.approvals.settings import approval_settings
from ostiary.approvals.store import ApprovalStore
from ostiary.audit import AuditKeyError, sealer_from_config
from ostiary.cli.storeopts import ConfigOption, fail, load_config, with_store
from ostiary.config import Config, ConfigError
from ostiary.identity import Principal, local_user
from ostiary.store import SqlStore, Store, now_us

app = typer.Typer(help="Calls held for a reviewer: list, show, approve, deny.", no_args_is_help=True)
TOKEN_ENV = "OSTIARY_REVIEWER_TOKEN"  # noqa: S105  (the variable's name, not a secret)
As = Annotated[
    str | None,
    typer.Option(
        "--as",
        help=f"Decide as the holder of this bearer token or API key (or {TOKEN_ENV}); default: the OS user.",
    ),
]
Reason = Annotated[str, typer.Option("--reason", "-r", help="Why; recorded with the decision.")]


def _stale_us(cfg: Config) -> int:
    try:
        settings = approval_settings(cfg)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    return int(3 * settings.heartbeat * 1_000_000)


def _approvals(store: Store) -> ApprovalStore:
    assert isinstance(store, SqlStore)
    return ApprovalStore(store)


def _when(us: int | None) -> str:
    if us is None:
        return ""
    from ostiary.audit.export import iso  # noqa: PLC0415

    return iso(us)


@app.command("list")
def list_command(
    config: ConfigOption = None,
    every: Annotated[
        bool, typer.Option("--all", help="Decided requests too, not only pending ones.")
    ] = False,
    limit: Annotated[int, typer.Option(help="At most this many requests.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Show requests waiting for a reviewer (with --all, decided ones too), newest first."""
    cfg = load_config(config)
    stale = _stale_us(cfg)

    async def load(store: Store) -> list[dict[str, Any]]:
        found = await _approvals(store).recent(None if every else [PENDING], limit)
        now = now_us()
        return [r.summary(now, stale) for r in found]

    rows = with_store(cfg, load)
    if as_json:
        typer.echo(json.dumps({"requests": rows}, indent=2))
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    table = Table("id", "status", "principal", "server", "tool", "created", "expires", "reviewer")
    for r in rows:
        table.add_row(
            r["id"], r["status"], r["principal"], r["server"], r["tool"],
            _when(r["created_us"]), _when(r["expires_us"]), r["reviewer"] or "",
        )  # fmt: skip
    Console().print(table)


@app.command("show")
def show_command(
    request_id: Annotated[str, typer.Argument(help="The request's id (apr_…).")],
    config: ConfigOption = None,
) -> None:
    """Everything a reviewer needs: who asked, the exact (redacted) arguments and their hash, why."""
    cfg = load_config(config)
    stale = _stale_us(cfg)

    async def load(store: Store) -> dict[str, Any] | None:
        found = await _approvals(store).get(request_id)
        return found.summary(now_us(), stale) if found is not None else None

    shown = with_store(cfg, load)
    if shown is None:
        raise fail(f"no approval request {request_id}")
    typer.echo(json.dumps(shown, indent=2, ensure_ascii=False))


def _reviewer(cfg: Config, token: str | None) -> Principal:
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        return local_user()
    from ostiary.auth import AuthError, build_authenticator  # noqa: PLC0415

    try:
        authenticator = build_authenticator(cfg.auth, cfg)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    if authenticator is None:
        raise fail("--as needs the gateway's `auth:` section in --config to check the token")

    async def check() -> Principal:
        try:
            return await authenticator.authenticate({"authorization": f"Bearer {token}"}, {})
        except AuthError as exc:
            raise fail(f"the token was refused: {exc.description}") from None

    return asyncio.run(check())


def _decide(cfg: Config, request_id: str, reviewer: Principal, approve: bool, reason: str) -> ApprovalRequest:
    try:
        sealer = sealer_from_config(cfg, create_key=False)
    except AuditKeyError as exc:
        raise fail(f"the decision could not be recorded: {exc}") from None
    stale = _stale_us(cfg)

    async def decide(store: Store) -> ApprovalRequest:
        try:
            decided = await review(_approvals(store), request_id, reviewer, approve, reason, "cli", stale)
        except ReviewError as exc:
            raise fail(str(exc)) from None
        event = "approved" if approve else "denied"
        await store.append_audit(cfg.audit.chain, [approval_record(event, decided)], sealer)
        settings = approval_settings(cfg)
        if settings.webhook is not None:
            from ostiary.approvals.webhook import Webhook  # noqa: PLC0415

            hook = Webhook(settings.webhook)
            hook.send("decided", decided.summary(now_us(), stale))
            await hook.close()
        return decided

    return with_store(cfg, decide)


@app.command("approve")
def approve_command(
    request_id: Annotated[str, typer.Argument(help="The request's id (apr_…).")],
    config: ConfigOption = None,
    reason: Reason = "",
    token: As = None,
) -> None:
    """Approve one request: the held call it names (those exact arguments, once) may run."""
    cfg = load_config(config)
    decided = _decide(cfg, request_id, _reviewer(cfg, token), True, reason)
    typer.echo(f"approved {decided.id} ({decided.server} {decided.target}) as {decided.reviewer}")


@app.command("deny")
def deny_command(
    request_id: Annotated[str, typer.Argument(help="The request's id (apr_…).")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why; recorded, and told to the caller.")],
    config: ConfigOption = None,
    token: As = None,
) -> None:
    """Deny one request: the held call is refused with the reason given."""
    cfg = load_config(config)
    decided = _decide(cfg, request_id, _reviewer(cfg, token), False, reason)
    typer.echo(f"denied {decided.id} ({decided.server} {decided.target}) as {decided.reviewer}")
