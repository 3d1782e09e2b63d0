"""A gateway whose policy holds one tool of the real `mcp-server-time` for a reviewer."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import StdioServerParameters

from conftest import free_loopback_port, wait_for_port

TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")
HELD_TOOL = "time__convert_time"
HELD_ARGS = {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Europe/Paris"}

POLICY = """
defaults: {{read_only: allow, other: allow}}
read_only:
  tools:
    time: [get_current_time]
rules:
  - id: convert-needs-review
    description: conversions are reviewed
    effect: approve
    servers: [time]
    tools: [convert_time]
    approvers: {approvers}
    expires: {expires}
"""


@pytest.fixture
def held_gateway(tmp_path: Path, write_config: Callable[..., Path]) -> Callable[..., Path]:
    """A configuration holding `convert_time`; returns its path."""

    def make(approvers: list[str], expires: float = 60, approvals: dict[str, Any] | None = None,
             store: str | None = None, auth: dict[str, Any] | None = None,
             before: list[dict[str, Any]] | None = None) -> Path:  # fmt: skip
        (tmp_path / "policy.yaml").write_text(POLICY.format(approvers=approvers, expires=expires))
        spec: dict[str, Any] = {
            "servers": {"time": {"command": TIME_SERVER, "args": ["--local-timezone", "UTC"]}},
            "inspections": [*(before or []), {"name": "policy", "file": "policy.yaml"}],
            "approvals": {"poll_interval": 0.1, "progress_interval": 0.2, **(approvals or {})},
            "audit": {"key_file": str(tmp_path / "audit.key")},
            # These tests read the refusal's code from the JSON-RPC error; the default tool-result
            # form of a refusal is tested in tests/desktop and by the quick start's test here.
            "denials": "error",
        }
        if store is not None:
            spec["store"] = store
        if auth is not None:
            spec["auth"] = auth
        return write_config(spec)

    return make


def stdio(config: Path, ostiary_command: list[str]) -> StdioServerParameters:
    command, *prefix = ostiary_command
    return StdioServerParameters(command=command, args=[*prefix, "run", "--config", str(config)])


def run_ostiary(
    ostiary_command: list[str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ostiary_command, *args], capture_output=True, text=True, check=check, timeout=60)


async def pending_request(ostiary_command: list[str], config: Path) -> dict[str, Any]:
    """The first pending request `ostiary approvals list` shows, once one is there."""
    async with asyncio.timeout(30):
        while True:
            out = await asyncio.to_thread(
                run_ostiary, ostiary_command, "approvals", "list", "--json", "--config", str(config)
            )
            found = json.loads(out.stdout)["requests"]
            if found:
                return found[0]  # type: ignore[no-any-return]
            await asyncio.sleep(0.2)


def approval_events(ostiary_command: list[str], config: Path) -> list[dict[str, Any]]:
    """The approval events in the audit chain, as `ostiary audit search --approvals --json` exports them."""
    out = run_ostiary(
        ostiary_command, "audit", "search", "--config", str(config), "--approvals", "--json", "--oldest-first"
    )
    events = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return [
        {"code": e["event"]["code"], "principal": e["user"]["name"], "approval": e["ostiary"].get("approval")}
        for e in events
        if str(e["event"]["action"]).startswith("approvals/")  # the events, not the calls they decided
    ]


def serve_process(
    spawn: Callable[..., subprocess.Popen[bytes]], ostiary_command: list[str], config: Path,
    env: dict[str, str] | None = None,
) -> tuple[str, subprocess.Popen[bytes]]:  # fmt: skip
    """`ostiary serve` on a free loopback port: its base URL and its process."""
    port = free_loopback_port()
    proc = spawn([*ostiary_command, "serve", "--config", str(config), "--port", str(port)], env=env)
    wait_for_port(port, proc)
    return f"http://127.0.0.1:{port}", proc


def serve(spawn: Callable[..., subprocess.Popen[bytes]], ostiary_command: list[str], config: Path,
          env: dict[str, str] | None = None) -> str:  # fmt: skip
    return serve_process(spawn, ostiary_command, config, env)[0]
