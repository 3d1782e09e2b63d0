"""The developer's first minutes: import a desktop host's servers and put Ostiary in front of them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from mcp import Client, StdioServerParameters

from ostiary import config

pytestmark = pytest.mark.e2e


def _host_file(tmp_path: Path, peers_dir: Path) -> Path:
    memory = peers_dir / "@modelcontextprotocol" / "server-memory" / "dist" / "index.js"
    host = {
        "globalShortcut": "Ctrl+Space",
        "mcpServers": {
            "memory": {
                "command": "node",
                "args": [str(memory)],
                "env": {"MEMORY_FILE_PATH": str(tmp_path / "m.jsonl")},
            },
        },
    }
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps(host, indent=2))
    return path


def _import(ostiary_command: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ostiary_command, "import", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_import_writes_a_config_that_loads_and_leaves_the_host_file_alone(
    tmp_path: Path, peers_dir: Path, ostiary_command: list[str]
) -> None:
    host = _host_file(tmp_path, peers_dir)
    before = host.read_text()
    done = _import(ostiary_command, str(host))
    assert done.returncode == 0, done.stderr
    imported = config.load(tmp_path / "ostiary.yaml")
    assert list(imported.servers) == ["memory"]
    assert imported.servers["memory"].env == {"MEMORY_FILE_PATH": str(tmp_path / "m.jsonl")}
    assert host.read_text() == before
    assert "MEMORY_FILE_PATH" not in done.stdout  # a path is not a credential: nothing to say
    assert (tmp_path / "ostiary.yaml").stat().st_mode & 0o077 == 0  # may hold secrets: owner only


async def test_a_rewritten_host_file_launches_ostiary_in_front_of_the_same_servers(
    tmp_path: Path, peers_dir: Path, ostiary_command: list[str]
) -> None:
    host = _host_file(tmp_path, peers_dir)
    before = host.read_text()
    done = _import(ostiary_command, str(host), "--rewrite")
    assert done.returncode == 0, done.stderr
    backups = list(tmp_path.glob("claude_desktop_config.json.before-ostiary-*"))
    assert len(backups) == 1 and backups[0].read_text() == before
    rewritten = json.loads(host.read_text())
    assert rewritten["globalShortcut"] == "Ctrl+Space"  # the host's other settings are kept
    entry = rewritten["mcpServers"]["ostiary"]
    assert list(rewritten["mcpServers"]) == ["ostiary"]
    # Each test gets its own store: point the generated configuration at one.
    generated = Path(entry["args"][-1])
    document = yaml.safe_load(generated.read_text())
    generated.write_text(yaml.safe_dump({**document, "store": f"sqlite+aiosqlite:///{tmp_path / 'o.db'}"}))
    async with Client(StdioServerParameters(command=entry["command"], args=entry["args"])) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        created = await client.call_tool(
            "memory__create_entities",
            {"entities": [{"name": "ostiary", "entityType": "gateway", "observations": ["x"]}]},
        )
    assert {"memory__create_entities", "memory__read_graph"} <= tools
    assert not created.is_error
    assert "ostiary" in (tmp_path / "m.jsonl").read_text()


def test_importing_twice_is_refused_rather_than_wrapping_ostiary_in_itself(
    tmp_path: Path, peers_dir: Path, ostiary_command: list[str]
) -> None:
    host = _host_file(tmp_path, peers_dir)
    assert _import(ostiary_command, str(host), "--rewrite").returncode == 0
    again = _import(ostiary_command, str(host), "--rewrite")
    assert again.returncode != 0 and "already launches Ostiary" in again.stderr


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_inline_credentials_move_to_owner_only_files_and_the_config_keeps_references(
    tmp_path: Path, ostiary_command: list[str]
) -> None:
    host = {
        "mcpServers": {
            "api": {
                "url": "https://mcp.example.invalid/mcp",
                "headers": {"Authorization": "Bearer s3cr3t-t0ken-value"},
            },
            "gh": {
                "command": "gh-mcp",
                "env": {"GITHUB_TOKEN": "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "TZ": "UTC"},
            },
        }
    }
    path = _write(tmp_path / "claude_desktop_config.json", json.dumps(host))
    done = _import(ostiary_command, str(path))
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "ostiary.yaml").read_text()
    assert "s3cr3t-t0ken-value" not in written and "ghp_abcdef" not in written
    assert "s3cr3t" not in done.stdout and "ghp_" not in done.stdout
    imported = config.load(tmp_path / "ostiary.yaml")
    auth = imported.servers["api"].headers["Authorization"]
    token = imported.servers["gh"].env["GITHUB_TOKEN"]
    assert auth.startswith("${file:") and token.startswith("${file:")
    assert imported.servers["gh"].env["TZ"] == "UTC"  # not a credential: stays, unmentioned
    assert "TZ" not in done.stdout
    secret_file = Path(auth.removeprefix("${file:").removesuffix("}"))
    assert secret_file.read_text() == "Bearer s3cr3t-t0ken-value"
    assert secret_file.stat().st_mode & 0o077 == 0
    assert secret_file.parent.stat().st_mode & 0o077 == 0


def test_claude_code_variables_become_env_references(tmp_path: Path, ostiary_command: list[str]) -> None:
    host = {
        "mcpServers": {
            "db": {
                "command": "db-mcp",
                "args": ["--url", "${DATABASE_URL}"],
                "env": {"LEVEL": "${LOG_LEVEL:-info}"},
            }
        },
        "projects": {"/work/app": {"mcpServers": {"app": {"command": "app-mcp", "args": ["${HOME}/data"]}}}},
    }
    path = _write(tmp_path / ".claude.json", json.dumps(host))
    done = _import(ostiary_command, str(path))
    assert done.returncode == 0, done.stderr
    imported = config.load(tmp_path / "ostiary.yaml")
    assert imported.servers["db"].args == ["--url", "${env:DATABASE_URL}"]
    assert imported.servers["db"].env == {"LEVEL": "${env:LOG_LEVEL}"}
    assert imported.servers["app"].args == ["${env:HOME}/data"]
    assert "LOG_LEVEL" in done.stdout  # the dropped default is reported


def test_a_vscode_servers_file_with_comments_and_a_bom_is_accepted_by_import_and_run(
    tmp_path: Path, ostiary_command: list[str]
) -> None:
    text = """\ufeff{
  // VS Code's workspace file: "servers", comments, trailing commas, inputs
  "inputs": [{"type": "promptString", "id": "api-key", "password": true}],
  "servers": {
    "time": {"type": "stdio", "command": "mcp-server-time", "env": {"KEY": "${input:api-key}"},},
  },
}
"""
    path = _write(tmp_path / ".vscode" / "mcp.json", text)
    done = _import(ostiary_command, str(path), "--output", str(tmp_path / "ostiary.yaml"))
    assert done.returncode == 0, done.stderr
    imported = config.load(tmp_path / "ostiary.yaml")
    assert imported.servers["time"].command == "mcp-server-time"
    assert imported.servers["time"].env == {"KEY": "${env:API_KEY}"}
    assert "API_KEY" in done.stdout


def test_a_byte_order_mark_is_accepted_by_import_as_by_run(
    tmp_path: Path, ostiary_command: list[str]
) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"mcpServers": {"t": {"command": "mcp-server-time"}}}).encode()
    )
    assert config.load(path).servers["t"].command == "mcp-server-time"
    done = _import(ostiary_command, str(path))
    assert done.returncode == 0, done.stderr


def test_dry_run_shows_the_diff_and_writes_nothing(
    tmp_path: Path, peers_dir: Path, ostiary_command: list[str]
) -> None:
    host = _host_file(tmp_path, peers_dir)
    before = host.read_text()
    done = _import(ostiary_command, str(host), "--rewrite", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert host.read_text() == before
    assert not (tmp_path / "ostiary.yaml").exists()
    assert not list(tmp_path.glob("*.before-ostiary-*"))
    assert '-    "memory": {' in done.stdout
    assert '+    "ostiary": {' in done.stdout
    assert "servers:" in done.stdout  # the configuration it would write
