"""`ostiary run` in front of the test kit's hostile server, for the side-door tests.

The server records every message it receives (`OSTIARY_HOSTILE_RECORD`), so a test proves what
reached it; the audit log is read afterwards with `ostiary audit search`, as an operator would.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from mcp import Client, StdioServerParameters
from rawstdio import RawStdioClient

from conftest import stop_process_group
from ostiary.testing.hostile_server import RECORD_ENV


@dataclass
class Setup:
    tmp: Path
    command: list[str]
    config: Path
    record: Path

    def received(self) -> list[dict[str, Any]]:
        """Every message the hostile server received, in order."""
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text(encoding="utf-8").splitlines()]

    def ran(self, method: str) -> list[dict[str, Any]]:
        return [m for m in self.received() if m.get("method") == method]

    def audit(self, *options: str) -> list[dict[str, Any]]:
        """Audit records matching `options`, read from the store once the gateway has stopped."""
        out = subprocess.run(
            [
                *self.command,
                "audit",
                "search",
                "--config",
                str(self.config),
                "--json",
                "--oldest-first",
                "--limit",
                "100000",
                *options,
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )
        return [json.loads(line) for line in out.stdout.decode().splitlines() if line.strip()]

    def sdk(self, **options: Any) -> Client:
        command, *prefix = self.command
        args = [*prefix, "run", "--config", str(self.config)]
        return Client(StdioServerParameters(command=command, args=args), **options)

    @contextlib.contextmanager
    def raw(
        self, capabilities: dict[str, Any] | None = None, initialize: bool = True
    ) -> Iterator[RawStdioClient]:
        with (self.tmp / "gateway.log").open("ab") as log:
            proc = subprocess.Popen(
                [*self.command, "run", "--config", str(self.config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        try:
            client = RawStdioClient(proc)
            if not initialize:
                yield client
                return
            response = client.request(
                "initialize",
                {
                    "protocolVersion": "2025-11-25",
                    "capabilities": capabilities or {},
                    "clientInfo": {"name": "side-door-tests", "version": "1.0"},
                },
                30.0,
            )
            assert "result" in response, response
            client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
            yield client
        finally:
            stop_process_group(proc)


def setup(
    tmp: Path,
    command: list[str],
    inspections: list[dict[str, Any]] | None = None,
    policy: str | None = None,
    server: dict[str, Any] | None = None,
    **extra: Any,
) -> Setup:
    record = tmp / "received.jsonl"
    spec: dict[str, Any] = {
        "store": f"sqlite+aiosqlite:///{tmp / 'ostiary.db'}",
        "servers": {
            "hostile": {
                "command": sys.executable,
                "args": ["-m", "ostiary.testing.hostile_server"],
                "env": {RECORD_ENV: str(record)},
                "timeout": 10,
                **(server or {}),
            }
        },
        # These tests read a refusal's code from the JSON-RPC error (`denials: error`); the
        # default tool-result form is tested in tests/desktop.
        "denials": "error",
        **extra,
    }
    stages = list(inspections or [])
    if policy is not None:
        (tmp / "policy.yaml").write_text(policy, encoding="utf-8")
        stages.append({"name": "policy", "file": str(tmp / "policy.yaml")})
    if stages:
        spec["inspections"] = stages
    config = tmp / "ostiary.yaml"
    config.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return Setup(tmp, command, config, record)
