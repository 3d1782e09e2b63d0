"""`ostiary scan` finds every supported host's configuration, in each OS layout, in a temporary
home; reports what is wrong (exit 1) in a table, JSON and SARIF; with `--connect` starts each
server to check its definitions, and a definition that changed since the last scan is reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HOST_FILES = FIXTURES / "hosts"
MAC = "Library/Application Support"
APPDATA = "AppData/Roaming"


def _everywhere(path: str) -> dict[str, str]:
    return dict.fromkeys(("linux", "macos", "windows"), path)


# Where each host keeps its user-level list, written out here independently of the catalog.
# host -> (fixture, {system: path relative to the temporary home})
EXPECTED: dict[str, tuple[str, dict[str, str]]] = {
    "claude-desktop": ("mcpServers.json", {
        "linux": ".config/Claude/claude_desktop_config.json",
        "macos": f"{MAC}/Claude/claude_desktop_config.json",
        "windows": f"{APPDATA}/Claude/claude_desktop_config.json",
    }),
    "claude-code": ("claude-code.json", _everywhere(".claude.json")),
    "cursor": ("mcpServers.json", _everywhere(".cursor/mcp.json")),
    "vscode": ("vscode.jsonc", {
        "linux": ".config/Code/User/mcp.json",
        "macos": f"{MAC}/Code/User/mcp.json",
        "windows": f"{APPDATA}/Code/User/mcp.json",
    }),
    "vscode-insiders": ("vscode.jsonc", {
        "linux": ".config/Code - Insiders/User/mcp.json",
        "macos": f"{MAC}/Code - Insiders/User/mcp.json",
        "windows": f"{APPDATA}/Code - Insiders/User/mcp.json",
    }),
    "windsurf": ("mcpServers.json", _everywhere(".codeium/windsurf/mcp_config.json")),
    "gemini-cli": ("mcpServers.json", _everywhere(".gemini/settings.json")),
    "codex": ("codex.toml", _everywhere(".codex/config.toml")),
    "cline": ("mcpServers.json", {
        "linux": ".config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
        "macos": f"{MAC}/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
        "windows": f"{APPDATA}/Code/User/globalStorage/saoudrizwan.claude-dev/settings/"
        "cline_mcp_settings.json",
    }),
    "roo-code": ("mcpServers.json", {
        "linux": ".config/Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json",
        "macos": f"{MAC}/Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json",
        "windows": f"{APPDATA}/Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json",
    }),
    "amazon-q": ("mcpServers.json", _everywhere(".aws/amazonq/mcp.json")),
    "kiro": ("mcpServers.json", _everywhere(".kiro/settings/mcp.json")),
    "lm-studio": ("mcpServers.json", _everywhere(".lmstudio/mcp.json")),
    "zed": ("zed.jsonc", {
        "linux": ".config/zed/settings.json",
        "macos": ".config/zed/settings.json",
        "windows": f"{APPDATA}/Zed/settings.json",
    }),
}  # fmt: skip


def _scan(home: Path, *args: str, store: Path | None = None) -> subprocess.CompletedProcess[str]:
    ostiary = str(Path(sys.executable).parent / "ostiary")
    env = {**os.environ, "HOME": str(home)}
    if store is not None:
        env["OSTIARY_STORE"] = f"sqlite+aiosqlite:///{store}"
    command = [ostiary, "scan", "--home", str(home), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=False)


@pytest.mark.parametrize("system", ["linux", "macos", "windows"])
def test_every_supported_host_is_found_in_each_os_layout(tmp_path: Path, system: str) -> None:
    for host, (fixture, paths) in EXPECTED.items():
        target = tmp_path / paths[system]
        target.parent.mkdir(parents=True, exist_ok=True)
        text = (HOST_FILES / fixture).read_text(encoding="utf-8").replace("SERVER", f"{host}-srv")
        if target.exists():  # two hosts in one file would be a fixture mistake
            raise AssertionError(f"{target} is claimed twice")
        target.write_text(text, encoding="utf-8")
    done = _scan(tmp_path, "--system", system, "--appdata", str(tmp_path / APPDATA), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    found = {(s["host"], s["name"], s["kind"], s["target"]) for s in report["servers"]}
    assert found == {
        (host, f"{host}-srv", "stdio", "mcp-server-time --local-timezone UTC") for host in EXPECTED
    }
    assert report["findings"] == []


def _claude_desktop(home: Path, servers: dict[str, object]) -> Path:
    path = home / ".config" / "Claude" / "claude_desktop_config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return path


TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"


def test_findings_as_written_exit_non_zero_in_the_table_json_and_sarif(tmp_path: Path) -> None:
    _claude_desktop(
        tmp_path,
        {
            "github": {
                "command": "mcp-server-time",
                "env": {"GITHUB_TOKEN": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"},
            },
            "gone": {"command": "no-such-mcp-server"},
            "remote": {"url": "http://mcp.example.invalid/mcp"},
            "guarded": {"command": str(Path(sys.executable).parent / "ostiary"), "args": ["run"]},
        },
    )
    table = _scan(tmp_path, "--system", "linux")
    assert table.returncode == 1
    assert "ghp_abcdef" not in table.stdout  # the finding names the variable, never its value
    assert "ostiary import" in table.stdout
    report = json.loads(_scan(tmp_path, "--system", "linux", "--json").stdout)
    rules = {(f["server"], f["rule"]) for f in report["findings"]}
    assert rules == {
        ("github", "scan.inline-credential"),
        ("gone", "scan.command-not-found"),
        ("remote", "scan.plain-http"),
    }
    assert [s["behind_ostiary"] for s in report["servers"] if s["name"] == "guarded"] == [True]
    sarif = _scan(tmp_path, "--system", "linux", "--format", "sarif")
    assert sarif.returncode == 1
    document = json.loads(sarif.stdout)
    assert document["version"] == "2.1.0"
    results = document["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {r for _, r in rules}
    assert all(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("file://")
        for r in results
    )


@pytest.mark.timeout(120)
def test_connect_reports_a_poisoned_tool_and_a_definition_changed_since_the_last_scan(
    tmp_path: Path,
) -> None:
    hostile = {"command": sys.executable, "args": [str(FIXTURES / "hostile_server.py")]}
    time_utc = {"command": "mcp-server-time", "args": ["--local-timezone", "UTC"]}
    _claude_desktop(tmp_path, {"hostile": hostile, "time": time_utc})
    store = tmp_path / "scan.db"
    first = _scan(tmp_path, "--system", "linux", "--connect", "--json", store=store)
    assert first.returncode == 1, first.stderr
    report = json.loads(first.stdout)
    poisoned = {(f["server"], f["tool"]) for f in report["findings"] if f["rule"] == "poisoning.definition"}
    assert poisoned == {("hostile", "add")}
    assert {s["name"]: len(s["tools"] or []) for s in report["servers"]}["time"] == 2
    assert not [f for f in report["findings"] if f["server"] == "time"]

    # The same server now describes its tools differently: what a rug pull looks like.
    time_paris = {"command": "mcp-server-time", "args": ["--local-timezone", "Europe/Paris"]}
    _claude_desktop(tmp_path, {"time": time_paris})
    second = _scan(tmp_path, "--system", "linux", "--connect", "--json", store=store)
    assert second.returncode == 1
    changed = [f for f in json.loads(second.stdout)["findings"] if f["rule"] == "pinning.changed"]
    assert {f["tool"] for f in changed} == {"get_current_time", "convert_time"}
    assert "ostiary pins approve 'claude-desktop:time'" in changed[0]["message"]


def test_a_server_that_never_answers_is_reported_within_the_timeout(tmp_path: Path) -> None:
    silent = {"command": sys.executable, "args": ["-c", "import time; time.sleep(60)"]}
    _claude_desktop(tmp_path, {"silent": silent})
    done = _scan(tmp_path, "--system", "linux", "--connect", "--timeout", "1", "--json", "--no-pins")
    assert done.returncode == 1
    [finding] = json.loads(done.stdout)["findings"]
    assert finding["rule"] == "scan.unreachable" and "1s" in finding["message"]
