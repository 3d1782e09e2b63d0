"""The audit witness: a database emptied, or cut with its checkpoints and head rewound, fails
`ostiary audit verify`, which says what it checked against.

A real gateway (`ostiary run` in front of mcp-server-time) writes the log and its witness; the
store is then tampered with as someone with write access to the database would, and the real
command verifies it.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from audit.traffic import KEY
from ostiary.store import SqlStore
from store.cli import ostiary, write_config

pytestmark = pytest.mark.e2e

CALLS = 12
TIME_SERVER = {
    "command": str(Path(sys.executable).parent / "mcp-server-time"),
    "args": ["--local-timezone", "UTC"],
}
TOOL = {"name": "time__get_current_time", "arguments": {"timezone": "UTC"}}


def _config(tmp_path: Path, store_url: str, **witness: Any) -> Path:
    audit = {
        "checkpoint_key": "${env:OSTIARY_TEST_AUDIT_KEY}",
        "checkpoint_every": 5,
        "witness": {
            "file": str(tmp_path / "witness.jsonl"),
            "key_file": str(tmp_path / "witness.key"),
            **witness,
        },
    }
    return write_config(tmp_path, store_url, KEY, servers={"time": TIME_SERVER}, audit=audit)


async def _session(config: Path, calls: int = CALLS) -> None:
    """One host session through `ostiary run`: `calls` tool calls, each answered, then the host
    goes away and the gateway stops cleanly."""
    env = {k: v for k, v in os.environ.items() if k != "OSTIARY_STORE"}
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "ostiary"), "run", "--config", str(config),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None

    async def send(message: dict[str, Any]) -> None:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(message).encode() + b"\n")
        await proc.stdin.drain()

    async def answer(wanted: int) -> dict[str, Any]:
        assert proc.stdout is not None
        while True:
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, "the gateway stopped"
            message: dict[str, Any] = json.loads(line)
            if message.get("id") == wanted:
                return message

    try:
        hello = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "w", "version": "1"},
        }
        await send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello})
        await answer(1)
        await send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        for n in range(calls):
            await send({"jsonrpc": "2.0", "id": 100 + n, "method": "tools/call", "params": TOOL})
            assert "result" in await answer(100 + n)
        proc.stdin.close()
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()[-2000:]
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _verify(config: Path, *extra: str) -> tuple[int, str]:
    code, out, err = await ostiary("audit", "verify", "--config", str(config), *extra)
    return code, out + err


async def _sql(store: SqlStore, *statements: str) -> None:
    async with store.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def test_an_untouched_log_verifies_against_its_witness(store_url: str, store: SqlStore, tmp_path: Path):
    config = _config(tmp_path, store_url)
    await _session(config)
    await _session(config, calls=3)  # a second gateway on the same store and witness
    code, out = await _verify(config)
    assert code == 0, out
    assert f"checked against: database and witness {tmp_path / 'witness.jsonl'}" in out
    seqs = [json.loads(line)["seq"] for line in (tmp_path / "witness.jsonl").read_bytes().splitlines()]
    assert seqs == sorted(set(seqs)) and len(seqs) >= 2  # each checkpoint witnessed once, in order
    assert (tmp_path / "witness.jsonl").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "witness.key").stat().st_mode & 0o777 == 0o600


async def test_every_audit_table_emptied_fails_verify(store_url: str, store: SqlStore, tmp_path: Path):
    config = _config(tmp_path, store_url)
    await _session(config)
    await _sql(
        store,
        "DELETE FROM audit_records",
        "DELETE FROM audit_checkpoints",
        "DELETE FROM audit_heads",
        "DELETE FROM audit_spools",
    )
    code, out = await _verify(config)
    assert code == 1, out
    assert "emptied" in out and "witness" in out


async def test_a_tail_cut_with_its_checkpoints_and_head_rewound_fails_verify(
    store_url: str, store: SqlStore, tmp_path: Path
):
    config = _config(tmp_path, store_url)
    await _session(config)
    async with store.engine.begin() as conn:
        (last,) = (await conn.execute(text("SELECT max(seq) FROM audit_records"))).one()
        keep = last - 6
        (prev,) = (await conn.execute(text(f"SELECT hash FROM audit_records WHERE seq = {keep}"))).one()
        await conn.execute(text(f"DELETE FROM audit_records WHERE seq > {keep}"))
        await conn.execute(text(f"DELETE FROM audit_checkpoints WHERE seq > {keep}"))
        await conn.execute(
            text("UPDATE audit_heads SET seq = :seq, hash = :hash, checkpoint_seq = 0"),
            {"seq": keep, "hash": prev},
        )
    code, out = await _verify(config)
    assert code == 1, out
    assert "truncated" in out and "witness" in out


async def test_a_forged_witness_line_fails_verify(store_url: str, store: SqlStore, tmp_path: Path):
    config = _config(tmp_path, store_url)
    await _session(config)
    witness = tmp_path / "witness.jsonl"
    lines = witness.read_bytes().splitlines()
    entry = json.loads(lines[-1])
    entry["seq"] += 1000  # a witness claiming more than was written, without the private key
    witness.write_bytes(b"\n".join([*lines, json.dumps(entry).encode()]) + b"\n")
    code, out = await _verify(config)
    assert code == 1, out
    assert f"line {len(lines) + 1}: its signature is invalid" in out


async def test_without_a_witness_verify_says_it_checked_the_database_only(
    store_url: str, store: SqlStore, tmp_path: Path
):
    config = _config(tmp_path, store_url)
    await _session(config)
    (tmp_path / "witness.jsonl").unlink()
    code, out = await _verify(config)
    assert code == 0, out
    assert "checked against: database only" in out


class _Collector(http.server.BaseHTTPRequestHandler):
    """A witness collector on loopback: appends each POSTed entry to its file."""

    target: Path

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.target.open("ab") as sink:
            sink.write(body)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


async def test_a_webhook_witness_is_checked_from_what_its_collector_kept(
    store_url: str, store: SqlStore, tmp_path: Path
):
    collected = tmp_path / "collected.jsonl"
    handler = type("Collector", (_Collector,), {"target": collected})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        webhook = f"http://127.0.0.1:{server.server_address[1]}/witness"
        config = _config(tmp_path, store_url, file=False, webhook=webhook)
        await _session(config)
    finally:
        server.shutdown()
        thread.join()
    assert not (tmp_path / "witness.jsonl").exists()
    code, out = await _verify(config)
    assert code == 0 and "checked against: database only" in out, out
    code, out = await _verify(config, "--witness", str(collected))
    assert code == 0 and f"checked against: database and witness {collected}" in out, out
    await _sql(store, "DELETE FROM audit_records", "DELETE FROM audit_checkpoints", "DELETE FROM audit_heads")
    code, out = await _verify(config, "--witness", str(collected))
    assert code == 1 and "emptied" in out, out
