"""A gateway whose policy holds one tool of the real `mcp-server-time` for a reviewer."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import StdioServerParameters

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
             store: str | None = None, auth: dict[str, Any] | None = None) -> Path:  # fmt: skip
        (tmp_path / "policy.yaml").write_text(POLICY.format(approvers=approvers, expires=expires))
        spec: dict[str, Any] = {
            "servers": {"time": {"command": TIME_SERVER, "args": ["--local-timezone", "UTC"]}},
            "inspections": [{"name": "policy", "file": "policy.yaml"}],
            "approvals": {"poll_interval": 0.1, "progress_interval": 0.2, **(approvals or {})},
            "audit": {"key_file": str(tmp_path / "audit.key")},
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
