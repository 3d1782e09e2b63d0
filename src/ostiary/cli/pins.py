"""`ostiary pins`: list pinned definitions and approve a changed one after reading its diff."""

from __future__ import annotations

import difflib
import json
from typing import Annotated

import typer

from ostiary.cli.storeopts import ConfigOption, fail, load_config, with_store
from ostiary.inspections.pinning import HELD, approve, tenant_of
from ostiary.store import Pin, Store

app = typer.Typer(
    help="Pinned tool, prompt and template definitions (the rug-pull defence).", no_args_is_help=True
)
Tenant = Annotated[
    str | None, typer.Option(help="Tenant (default: pinning.tenant, else the gateway's name).")
]


def _pretty(document: str | None) -> list[str]:
    if document is None:
        return []
    return json.dumps(json.loads(document), indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def diff(pin: Pin) -> str:
    """A unified diff from the approved definition to the one waiting for approval."""
    lines = difflib.unified_diff(
        _pretty(pin.document),
        _pretty(pin.pending_document),
        fromfile=f"{pin.server}/{pin.name} (approved)" if pin.document else "(never approved)",
        tofile=f"{pin.server}/{pin.name} (now served)",
        lineterm="",
    )
    return "\n".join(lines)


@app.command("list")
def list_command(
    config: ConfigOption = None,
    tenant: Tenant = None,
    quarantined: Annotated[bool, typer.Option("--quarantined", help="Only the held definitions.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Show every pin of the tenant, with its status."""
    cfg = load_config(config)
    who = tenant or tenant_of(cfg)

    async def load(store: Store) -> list[Pin]:
        return await store.load_pins(who)

    found = [p for p in with_store(cfg, load) if p.status == HELD or not quarantined]
    if as_json:
        keys = ("server", "kind", "name", "status", "fingerprint", "pending_fingerprint")
        rows = [{key: getattr(p, key) for key in keys} for p in found]
        typer.echo(json.dumps({"tenant": who, "pins": rows}, indent=2))
        return
    from rich.console import Console  # noqa: PLC0415  (only the table output needs rich)
    from rich.table import Table  # noqa: PLC0415

    table = Table("server", "kind", "name", "status", "fingerprint", title=f"pins of tenant {who}")
    for p in found:
        table.add_row(p.server, p.kind, p.name, p.status, (p.pending_fingerprint or p.fingerprint or "")[:16])
    Console().print(table)


@app.command("approve")
def approve_command(
    server: Annotated[str, typer.Argument(help="The configured server name.")],
    name: Annotated[str, typer.Argument(help="The tool, prompt or template name as the server calls it.")],
    config: ConfigOption = None,
    tenant: Tenant = None,
    kind: Annotated[str, typer.Option(help="tool, prompt or template.")] = "tool",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve without asking.")] = False,
) -> None:
    """Show what changed in a quarantined definition and release it."""
    cfg = load_config(config)
    who = tenant or tenant_of(cfg)

    async def find(store: Store) -> Pin | None:
        pins = await store.load_pins(who, server)
        return next((p for p in pins if p.kind == kind and p.name == name), None)

    pin = with_store(cfg, find)
    if pin is None:
        raise fail(f"no pinned {kind} {name!r} on server {server!r} for tenant {who!r}")
    if pin.status != HELD or pin.pending_document is None:
        typer.echo(f"{kind} {name} on {server} is not quarantined; nothing to approve")
        return
    typer.echo(diff(pin))
    if not yes and not typer.confirm(f"Approve this {kind} for tenant {who}?"):
        raise typer.Exit(1)
    released = approve(pin)
    with_store(cfg, lambda store: store.save_pin(released))
    typer.echo(f"approved {kind} {name} on {server} (fingerprint {pin.pending_fingerprint})")
