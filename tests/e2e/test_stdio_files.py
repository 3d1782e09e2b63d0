"""`ostiary run` with stdin or stdout on a regular file instead of a pipe: a user trying requests
kept in a file, or capturing the answers to one. Served like a pipe; never a crash."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def _answers(path: Path, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_bytes().splitlines()
        if len(lines) >= count:
            return [json.loads(line) for line in lines]
        time.sleep(0.05)
    raise AssertionError(f"{path} holds {path.read_bytes()!r}, not {count} answers")


def test_requests_read_from_a_file_are_taken_without_a_crash(
    write_config: Callable[..., Path],
    spawn: Callable[..., subprocess.Popen[bytes]],
    ostiary_command: list[str],
    tmp_path: Path,
) -> None:
    config = write_config({"servers": {}})
    requests = tmp_path / "requests.jsonl"
    requests.write_bytes(_line(INITIALIZE))
    with requests.open("rb") as stdin:
        argv = [*ostiary_command, "run", "--config", str(config)]
        proc = spawn(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=60)
    # The end of the file is the host closing stdin: the gateway shuts down cleanly.
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"Traceback" not in err


def test_answers_written_to_a_file_arrive_whole_and_in_order(
    write_config: Callable[..., Path],
    spawn: Callable[..., subprocess.Popen[bytes]],
    ostiary_command: list[str],
    tmp_path: Path,
) -> None:
    config = write_config({"servers": {}})
    answers = tmp_path / "answers.jsonl"
    with answers.open("wb") as stdout:
        argv = [*ostiary_command, "run", "--config", str(config)]
        proc = spawn(argv, stdin=subprocess.PIPE, stdout=stdout, stderr=subprocess.PIPE)
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(_line(INITIALIZE))
        proc.stdin.flush()
        _answers(answers, 1)
        proc.stdin.write(_line({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        proc.stdin.write(_line({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
        proc.stdin.flush()
        got = _answers(answers, 2)
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0, proc.stderr.read().decode()[-2000:]
    assert [a["id"] for a in got] == [1, 2]
    assert got[0]["result"]["serverInfo"]["name"] == "ostiary"
    assert got[1]["result"] == {}
