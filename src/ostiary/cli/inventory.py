"""`ostiary inventory`: what is connected and what it offers, as a table or JSON."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ostiary.cli.storeopts import ConfigOption, load_config, with_store
from ostiary.store import InventoryItem, InventoryServer, Pin, Store

app = typer.Typer(help="Every connected server and its tools, prompts, resources and templates.")


def as_document(
    servers: list[InventoryServer], items: list[InventoryItem], pins: list[Pin], qualify: bool = False
) -> dict[str, Any]:
    """Servers by name; `qualify` names them `gateway/server`, for a store shared by gateways."""
    status = {(p.server, p.kind, p.name): p.status for p in pins}
    out: dict[str, Any] = {}

    def key(gateway: str, server: str) -> str:
        return f"{gateway}/{server}" if qualify else server

    for server in servers:
        out[key(server.gateway, server.server)] = {
            **server.info,
            "tools": [],
            "prompts": [],
            "resources": [],
            "templates": [],
        }
    for item in items:
        entry = out.setdefault(
            key(item.gateway, item.server), {"tools": [], "prompts": [], "resources": [], "templates": []}
        )
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
    gateway: Annotated[
        str | None, typer.Option(help="Whose inventory (default: this config's gateway name).")
    ] = None,
) -> None:
    """Print the inventory a gateway recorded (with --config, that gateway's; else every one)."""
    from ostiary.inspections.pinning import tenant_of  # noqa: PLC0415

    cfg = load_config(config)
    tenant = tenant_of(cfg)
    # Without a configuration, every gateway that used the store, each server named gateway/server.
    name = gateway or (cfg.name if config is not None else None)

    async def read(store: Store) -> dict[str, Any]:
        servers, items = await store.inventory(name)
        return as_document(servers, items, await store.load_pins(tenant), qualify=name is None)

    document = with_store(cfg, read)
    if name is not None:
        document["gateway"] = name
    if as_json:
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        _print_tables(document)
