"""A host's file in, its servers out, in the `mcpServers` shape every host shares at heart.

Hosts differ in the container (`mcpServers`, VS Code's `servers` or `mcp.servers`, Claude Code's
per-project lists, Codex's TOML `mcp_servers`, Zed's `context_servers`), in the file syntax (JSON
with comments and trailing commas, a byte-order mark, TOML) and in a few field names (`serverUrl`,
`httpUrl`). Each entry is returned as `command`/`args`/`env`/`cwd` or `url`/`type`/`headers`.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from ostiary.hosts.catalog import Layout

Entries = dict[str, dict[str, Any]]


class HostFileError(Exception):
    """A host file that cannot be read or is not a server list; the message says why."""


def parse_text(text: str, path: Path) -> Any:
    """JSON as hosts write it (comments, trailing commas, a BOM), or TOML for `.toml` files."""
    text = text.removeprefix("\ufeff")
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise HostFileError(f"{path}: not valid TOML ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    import json5  # noqa: PLC0415  (only for files that plain JSON cannot read)

    try:
        return json5.loads(text)
    except ValueError as exc:
        raise HostFileError(f"{path}: not valid JSON ({exc})") from None


def read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HostFileError(f"{path}: cannot be read ({exc})") from None
    return parse_text(text, path)


def _normal(entry: dict[str, Any]) -> dict[str, Any]:
    """One entry with the field names hosts vary on brought to `mcpServers`' own."""
    out = dict(entry)
    for alias in ("serverUrl", "httpUrl"):
        if alias in out and "url" not in out:
            out["url"] = out.pop(alias)
            if alias == "httpUrl":
                out.setdefault("type", "http")
    command = out.get("command")
    if isinstance(command, dict):  # Zed's older {"command": {"path", "args", "env"}}
        out["command"] = command.get("path")
        out.setdefault("args", command.get("args", []))
        out.setdefault("env", command.get("env", {}))
    return out


def _entries(value: Any) -> Entries:
    if not isinstance(value, dict):
        return {}
    return {str(name): _normal(entry) for name, entry in value.items() if isinstance(entry, dict)}


def servers_of(document: Any, layout: Layout) -> Entries:
    """The server entries of one host document; an empty dict if it has none."""
    if not isinstance(document, dict):
        return {}
    if layout == "codex":
        return _entries(document.get("mcp_servers"))
    if layout == "zed":
        return _entries(document.get("context_servers"))
    if layout == "vscode":
        nested = document.get("mcp")
        found = _entries(document.get("servers"))
        if isinstance(nested, dict):
            found.update(_entries(nested.get("servers")))
        return found or _entries(document.get("mcpServers"))
    found = _entries(document.get("mcpServers"))
    if layout == "claude-code":
        projects = document.get("projects")
        for folder, settings in (projects if isinstance(projects, dict) else {}).items():
            if isinstance(settings, dict):
                for name, entry in _entries(settings.get("mcpServers")).items():
                    found.setdefault(name, {**entry, "project": str(folder)})
    if not found and isinstance(document.get("servers"), dict):
        found = _entries(document["servers"])
    return found


def layout_for(path: Path, document: Any) -> Layout:
    """The layout of a file given by path alone (`ostiary import FILE`)."""
    if path.suffix == ".toml":
        return "codex"
    if path.name == ".claude.json":
        return "claude-code"
    if isinstance(document, dict):
        if "context_servers" in document:
            return "zed"
        if "mcpServers" not in document and ("servers" in document or "mcp" in document):
            return "vscode"
    return "mcpServers"
