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
    assert "memory.env.MEMORY_FILE_PATH" in done.stdout  # told to move inline values to references
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
