"""`ostiary import`: put Ostiary in front of a desktop host's servers in one step.

Reads the host's file in whichever format the host writes (`mcpServers` JSON, VS Code's `servers`,
Claude Code's `.claude.json`, Codex's TOML, Zed's `context_servers`; comments, trailing commas and
a byte-order mark included), translates the host's variable syntax to `${env:…}` references, moves
inline credentials (`env` values and `headers` such as `Authorization`) to files readable only by
the user, and writes an Ostiary configuration. With `--rewrite`, the host's entries are replaced by
one that launches `ostiary run` on it, after a backup, atomically. `--dry-run` shows it all and
writes nothing.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from ostiary.config import ConfigError, parse
from ostiary.hosts import credentials, reading, variables
from ostiary.hosts.catalog import Layout

# Where each layout keeps the server list a rewrite replaces.
_REWRITABLE: dict[Layout, tuple[str, ...]] = {
    "mcpServers": ("mcpServers",),
    "claude-code": ("mcpServers",),
    "vscode": ("servers",),
    "zed": ("context_servers",),
}


def _atomic_write(path: Path, text: str, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.ostiary-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _ostiary_command() -> str:
    """This installation's `ostiary`, by absolute path: a host's PATH will not have it."""
    beside = Path(sys.executable).with_name("ostiary")
    return str(beside) if beside.exists() else (shutil.which("ostiary") or str(beside))


def host_of(path: Path) -> str:
    """Which host's variable syntax a file given by path uses."""
    if path.name in (".claude.json", ".mcp.json"):
        return "claude-code"
    if path.parent.name == ".gemini":
        return "gemini-cli"
    return "file"


def imported_servers(path: Path, host: str | None = None) -> tuple[Layout, Any, dict[str, Any], list[str]]:
    """(layout, the host document, its servers translated to Ostiary's syntax, notes)."""
    document = reading.read(path)
    layout = reading.layout_for(path, document)
    entries = reading.servers_of(document, layout)
    notes: list[str] = []
    home = Path.home()
    who = host or host_of(path)
    translated = {
        name: variables.translate_entry(entry, who, home, notes, name) for name, entry in entries.items()
    }
    return layout, document, translated, notes


def _fail(message: str) -> typer.BadParameter:
    return typer.BadParameter(message)


def command(
    host_config: Annotated[Path, typer.Argument(help="The host's MCP configuration file.")],
    output: Annotated[Path | None, typer.Option(help="Where to write Ostiary's configuration.")] = None,
    rewrite: Annotated[
        bool, typer.Option("--rewrite", help="Replace the host's servers with Ostiary (backup kept).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be written and changed; write nothing.")
    ] = False,
) -> None:
    """Import a host's MCP servers into an Ostiary configuration, optionally rewriting the host file."""
    try:
        layout, document, servers, notes = imported_servers(host_config)
    except reading.HostFileError as exc:
        raise _fail(str(exc)) from None
    if not servers:
        raise _fail(f"{host_config}: has no MCP servers to import")
    if any("ostiary" in str(v.get("command", "")) for v in servers.values()):
        raise _fail(f"{host_config}: already launches Ostiary")
    target = (output or host_config.with_name("ostiary.yaml")).absolute()
    secrets_dir = target.with_name(f"{target.stem}.secrets")
    servers, moved = credentials.move(servers, secrets_dir, dry_run=dry_run)
    try:
        config = parse(json.dumps({"mcpServers": servers}), str(host_config))
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    entries = {name: server.changed() for name, server in config.servers.items()}
    header = f"# Imported by `ostiary import` from {host_config} on {time.strftime('%Y-%m-%d')}.\n"
    text = header + yaml.safe_dump({"servers": entries}, sort_keys=False)
    text += (
        "# No `inspections:` list: pinning, poisoning, injection and secrets run by default.\n"
        "# See docs/configuration.md to choose others.\n"
    )
    verb = "would write" if dry_run else "wrote"
    if dry_run:
        typer.echo(f"--- {target} (new)")
        typer.echo(text)
    else:
        _atomic_write(target, text)
    typer.echo(f"{verb} {target} with {len(entries)} server(s): {', '.join(entries)}")
    for item in moved:
        typer.echo(f"{'would move' if dry_run else 'moved'} {item.server}.{item.field} to {item.file} (0600)")
    for note in notes:
        typer.echo(f"note: {note}")
    if not rewrite:
        typer.echo(f"to use it: {_ostiary_command()} run --config {target}   (or run again with --rewrite)")
        return
    _rewrite(host_config, layout, document, target, dry_run)


def _rewrite(host_config: Path, layout: Layout, document: Any, target: Path, dry_run: bool) -> None:
    keys = _REWRITABLE.get(layout)
    if keys is None or not isinstance(document, dict):
        entry = {"command": _ostiary_command(), "args": ["run", "--config", str(target)]}
        typer.echo(f"{host_config} is not rewritten ({layout} files are edited by hand); use: {entry}")
        return
    original = host_config.read_text(encoding="utf-8")
    updated = dict(document)
    launcher: dict[str, Any] = {"command": _ostiary_command(), "args": ["run", "--config", str(target)]}
    if layout == "vscode":
        launcher = {"type": "stdio", **launcher}
        if "servers" not in updated and isinstance(updated.get("mcp"), dict):
            updated["mcp"] = {**updated["mcp"], "servers": {"ostiary": launcher}}
        else:
            updated["servers"] = {"ostiary": launcher}
    else:
        updated[keys[0]] = {"ostiary": launcher}
    if layout == "claude-code" and updated.get("projects"):
        typer.echo("note: servers configured per project in .claude.json are left as they are")
    new_text = json.dumps(updated, indent=2, ensure_ascii=False) + "\n"
    if dry_run:
        diff = difflib.unified_diff(
            original.splitlines(), new_text.splitlines(), str(host_config), f"{host_config} (rewritten)",
            lineterm="",
        )  # fmt: skip
        typer.echo("\n".join(diff))
        typer.echo(f"would rewrite {host_config} to launch Ostiary (a backup would be kept)")
        return
    backup = host_config.with_name(f"{host_config.name}.before-ostiary-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copy2(host_config, backup)
    _atomic_write(host_config, new_text, host_config.stat().st_mode & 0o777)
    typer.echo(f"rewrote {host_config} to launch Ostiary (backup: {backup}); restart the host")
