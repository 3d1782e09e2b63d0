"""`ostiary import`: put Ostiary in front of a desktop host's servers in one step.

Reads the host's `mcpServers` file (Claude Desktop, Cursor, VS Code), writes an Ostiary
configuration holding those servers, and, with `--rewrite`, replaces the host's entries with one
that launches `ostiary run` on it. The host file is backed up first and written atomically; secrets
in the servers' `env` stay where they were written (now in Ostiary's file, readable only by the
user), and the output says which ones to move to `${env:…}` references.
"""

from __future__ import annotations

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
from ostiary.secretref import has_reference

HOST_KEY = "mcpServers"


def _atomic_write(path: Path, text: str, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.ostiary-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _ostiary_command() -> str:
    found = shutil.which("ostiary")
    return found or str(Path(sys.executable).with_name("ostiary"))


def command(
    host_config: Annotated[Path, typer.Argument(help="The host's mcpServers JSON file")],
    output: Annotated[Path | None, typer.Option(help="Where to write Ostiary's configuration")] = None,
    rewrite: Annotated[
        bool, typer.Option(help="Replace the host's servers with Ostiary (backup kept)")
    ] = False,
) -> None:
    """Import a host's MCP servers into an Ostiary configuration, optionally rewriting the host file."""
    try:
        original = host_config.read_text(encoding="utf-8")
        data: Any = json.loads(original)
    except (OSError, json.JSONDecodeError) as exc:
        raise typer.BadParameter(f"{host_config}: cannot be read as JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get(HOST_KEY), dict) or not data[HOST_KEY]:
        raise typer.BadParameter(f"{host_config}: has no '{HOST_KEY}' servers to import")
    if any(isinstance(v, dict) and "ostiary" in str(v.get("command", "")) for v in data[HOST_KEY].values()):
        raise typer.BadParameter(f"{host_config}: already launches Ostiary")
    try:
        config = parse(json.dumps({HOST_KEY: data[HOST_KEY]}), str(host_config))
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    servers = {name: server.changed() for name, server in config.servers.items()}
    document = {
        "servers": servers,
        "inspections": [
            {"name": "toolfilter"},
            {"name": "pinning"},
            {"name": "poisoning", "action": "block"},
            {"name": "injection", "action": "warn"},
            {"name": "secrets", "action": "redact"},
        ],
    }
    target = output or host_config.with_name("ostiary.yaml")
    header = f"# Imported by `ostiary import` from {host_config} on {time.strftime('%Y-%m-%d')}.\n"
    _atomic_write(target, header + yaml.safe_dump(document, sort_keys=False))
    typer.echo(f"wrote {target} with {len(servers)} server(s): {', '.join(servers)}")
    inline = [
        f"{name}.env.{key}"
        for name, server in servers.items()
        for key, value in server.get("env", {}).items()
        if not has_reference(str(value))
    ]
    if inline:
        typer.echo(
            "move these values to secret references (${env:NAME} or ${file:PATH}): " + ", ".join(inline)
        )
    if not rewrite:
        typer.echo(f"to use it: ostiary run --config {target}   (or run again with --rewrite)")
        return
    backup = host_config.with_name(f"{host_config.name}.before-ostiary-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copy2(host_config, backup)
    data[HOST_KEY] = {
        "ostiary": {"command": _ostiary_command(), "args": ["run", "--config", str(target.resolve())]}
    }
    _atomic_write(host_config, json.dumps(data, indent=2) + "\n", host_config.stat().st_mode & 0o777)
    typer.echo(f"rewrote {host_config} to launch Ostiary (backup: {backup}); restart the host")
