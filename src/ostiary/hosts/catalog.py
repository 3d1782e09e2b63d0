"""Where each MCP host keeps its server list, on Linux, macOS and Windows.

Paths are relative to the user's home, or (`%APPDATA%`) to the roaming application data folder
on Windows. Only user-level files are listed; a project's own `.mcp.json` or `.vscode/mcp.json` is
found by `scan --project DIR`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

System = Literal["linux", "macos", "windows"]
Layout = Literal["mcpServers", "vscode", "claude-code", "codex", "zed"]
_APPDATA = "%APPDATA%"
_MAC_SUPPORT = "Library/Application Support"


@dataclass(frozen=True, slots=True)
class Host:
    key: str
    title: str
    layout: Layout
    paths: dict[System, tuple[str, ...]]


def _everywhere(*paths: str) -> dict[System, tuple[str, ...]]:
    return {"linux": paths, "macos": paths, "windows": paths}


def _app_dir(linux: str, mac: str, windows: str, file: str) -> dict[System, tuple[str, ...]]:
    return {
        "linux": (f".config/{linux}/{file}",),
        "macos": (f"{_MAC_SUPPORT}/{mac}/{file}",),
        "windows": (f"{_APPDATA}/{windows}/{file}",),
    }


def _vscode_family(product: str) -> dict[System, tuple[str, ...]]:
    return {
        "linux": (f".config/{product}/User/mcp.json", f".config/{product}/User/settings.json"),
        "macos": (f"{_MAC_SUPPORT}/{product}/User/mcp.json", f"{_MAC_SUPPORT}/{product}/User/settings.json"),
        "windows": (f"{_APPDATA}/{product}/User/mcp.json", f"{_APPDATA}/{product}/User/settings.json"),
    }


def _extension(product: str, extension: str, file: str) -> dict[System, tuple[str, ...]]:
    tail = f"User/globalStorage/{extension}/settings/{file}"
    return {
        "linux": (f".config/{product}/{tail}",),
        "macos": (f"{_MAC_SUPPORT}/{product}/{tail}",),
        "windows": (f"{_APPDATA}/{product}/{tail}",),
    }


HOSTS: tuple[Host, ...] = (
    Host("claude-desktop", "Claude Desktop", "mcpServers",
         _app_dir("Claude", "Claude", "Claude", "claude_desktop_config.json")),
    Host("claude-code", "Claude Code", "claude-code", _everywhere(".claude.json")),
    Host("cursor", "Cursor", "mcpServers", _everywhere(".cursor/mcp.json")),
    Host("vscode", "VS Code", "vscode", _vscode_family("Code")),
    Host("vscode-insiders", "VS Code Insiders", "vscode", _vscode_family("Code - Insiders")),
    Host("windsurf", "Windsurf", "mcpServers", _everywhere(".codeium/windsurf/mcp_config.json")),
    Host("gemini-cli", "Gemini CLI", "mcpServers", _everywhere(".gemini/settings.json")),
    Host("codex", "Codex", "codex", _everywhere(".codex/config.toml")),
    Host("cline", "Cline", "mcpServers",
         _extension("Code", "saoudrizwan.claude-dev", "cline_mcp_settings.json")),
    Host("roo-code", "Roo Code", "mcpServers",
         _extension("Code", "rooveterinaryinc.roo-cline", "mcp_settings.json")),
    Host("amazon-q", "Amazon Q", "mcpServers", _everywhere(".aws/amazonq/mcp.json")),
    Host("kiro", "Kiro", "mcpServers", _everywhere(".kiro/settings/mcp.json")),
    Host("lm-studio", "LM Studio", "mcpServers", _everywhere(".lmstudio/mcp.json")),
    Host("zed", "Zed", "zed", {
        "linux": (".config/zed/settings.json",),
        "macos": (".config/zed/settings.json",),
        "windows": (f"{_APPDATA}/Zed/settings.json",),
    }),
)  # fmt: skip

# A project's own files, found under `scan --project DIR`.
PROJECT_FILES: tuple[tuple[str, str, Layout], ...] = (
    (".mcp.json", "Claude Code (project)", "mcpServers"),
    (".vscode/mcp.json", "VS Code (workspace)", "vscode"),
    (".cursor/mcp.json", "Cursor (project)", "mcpServers"),
    (".gemini/settings.json", "Gemini CLI (project)", "mcpServers"),
)


def this_system() -> System:
    import sys  # noqa: PLC0415

    if sys.platform == "darwin":
        return "macos"
    if sys.platform == "win32":
        return "windows"
    return "linux"


def expand(relative: str, home: Path, appdata: Path | None = None) -> Path:
    if relative.startswith(_APPDATA):
        base = appdata or Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
        return base / relative.removeprefix(_APPDATA).lstrip("/")
    return home / relative


@dataclass(frozen=True, slots=True)
class Found:
    host: str
    title: str
    layout: Layout
    path: Path


def locate(
    home: Path,
    system: System | None = None,
    appdata: Path | None = None,
    projects: tuple[Path, ...] = (),
) -> list[Found]:
    """Every host file that exists for this user (and in the given project folders)."""
    system = system or this_system()
    found: list[Found] = []
    for host in HOSTS:
        for relative in host.paths[system]:
            path = expand(relative, home, appdata)
            if path.is_file():
                found.append(Found(host.key, host.title, host.layout, path))
    for project in projects:
        for relative, title, layout in PROJECT_FILES:
            path = project / relative
            if path.is_file():
                found.append(Found("project", title, layout, path))
    return found
