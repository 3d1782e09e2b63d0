"""`ostiary inventory`: what is connected and what it offers, as a table or JSON."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ostiary.cli.storeopts import ConfigOption, load_config, with_store
from ostiary.store import InventoryItem, InventoryServer, Pin, Store

app = typer.Typer(help="Every connected server and its tools, prompts, resources and templates.")


def as_document(
    servers: list[InventoryServer], items: list[InventoryItem], pins: list[Pin]
) -> dict[str, Any]:
    status = {(p.server, p.kind, p.name): p.status for p in pins}
    out: dict[str, Any] = {}
    for server in servers:
        out[server.server] = {**server.info, "tools": [], "prompts": [], "resources": [], "templates": []}
    for item in items:
        entry = out.setdefault(item.server, {"tools": [], "prompts": [], "resources": [], "templates": []})
        described = {
            "name": item.name,
            "title": item.definition.get("title"),
            "description": item.definition.get("description"),
            "annotations": item.definition.get("annotations"),
            "pin": status.get((item.server, item.kind, item.name)),
        }
        if item.kind == "tool":
            described["risk"] = item.risk
        entry[f"{item.kind}s"].append(described)
    return {"servers": out}


def _print_tables(document: dict[str, Any]) -> None:
    from rich.console import Console  # noqa: PLC0415  (only the table output needs rich)
    from rich.table import Table  # noqa: PLC0415

    console = Console()
    servers = Table(
        "server", "name", "version", "protocol", "era", "capabilities", "instructions", title="servers"
    )
    offered = Table("server", "kind", "name", "risk", "pin", "description", title="definitions")
    for name, info in document["servers"].items():
        server_info = info.get("serverInfo") or {}
        instructions = (info.get("instructions") or "")[:60]
        servers.add_row(
            name, str(server_info.get("name", "")), str(server_info.get("version", "")),
            str(info.get("protocolVersion") or ""), str(info.get("era") or ""),
            ", ".join(sorted(info.get("capabilities") or {})), instructions,
        )  # fmt: skip
        for kind in ("tools", "prompts", "resources", "templates"):
            for item in info.get(kind, []):
                description = (item.get("description") or "").splitlines()
                offered.add_row(
                    name, kind[:-1], item["name"], item.get("risk", ""), item.get("pin") or "",
                    description[0][:60] if description else "",
                )  # fmt: skip
    console.print(servers)
    console.print(offered)


@app.callback(invoke_without_command=True)
def show(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of tables.")] = False,
) -> None:
    """Print the inventory the gateway recorded."""
    cfg = load_config(config)
    tenant = cfg.pinning.tenant

    async def read(store: Store) -> dict[str, Any]:
        servers, items = await store.inventory()
        return as_document(servers, items, await store.load_pins(tenant))

    document = with_store(cfg, read)
    if as_json:
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        _print_tables(document)
