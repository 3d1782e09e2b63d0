"""Start-up: only what the configuration needs is loaded, and the store still fails closed.

Memory and a host's launch time are imports. `ostiary run` with the defaults (audit log on,
SQLite) answers `initialize` without the HTTP stack, Typer, SQLAlchemy's async layer or the
PostgreSQL dialect; `ostiary serve` does not load the policy engine or the other commands'
modules unless configured, nor pydantic. The store opens while the host's first message is read; one that
cannot open serves no call.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rawstdio import RawStdioClient

from conftest import wait_for_port

pytestmark = pytest.mark.e2e

OSTIARY = [sys.executable, "-c", "import sys; from ostiary.cli import main; main(sys.argv[1:])"]
# Runs the `ostiary` command and, when it exits, writes the modules it loaded to stderr.
# Only the modules loaded after the interpreter started count: under the suite's subprocess coverage
# the interpreter has already imported coverage (and the `html` it imports) before Ostiary runs.
WITH_MODULE_LIST = (
    "import atexit, sys\n"
    "before = set(sys.modules)\n"
    "atexit.register(lambda: sys.stderr.write("
    "'\\nMODULES ' + ' '.join(sorted(set(sys.modules) - before)) + '\\n'))\n"
    "from ostiary.cli import main\n"
    "main(sys.argv[1:])\n"
)

NOT_FOR_RUN = (
    "starlette",
    "uvicorn",
    "typer",
    "click",
    "rich",
    "httpx2",
    "sqlalchemy.ext.asyncio",
    "sqlalchemy.orm",
    "aiosqlite",
    "greenlet",
    "sqlalchemy.dialects.postgresql",
    "asyncpg",
    "celpy",
    "pydantic",
    "cryptography",
    "jwt",
    "ostiary.policy",
    "ostiary.inspections.pinning",
)


def _loaded(stderr: str) -> set[str]:
    line = next(line for line in stderr.splitlines() if line.startswith("MODULES "))
    return set(line.split()[1:])


def _tops(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if n in modules or any(m.startswith(n + ".") for m in modules))


def _piped(spawn: Callable[..., subprocess.Popen[bytes]], argv: list[str]) -> subprocess.Popen[bytes]:
    return spawn(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _run_once(config: Path, spawn: Callable[..., subprocess.Popen[bytes]]) -> set[str]:
    """One host session: `initialize` answered, then stdin closed; the modules the gateway loaded."""
    proc = _piped(spawn, [sys.executable, "-c", WITH_MODULE_LIST, "run", "--config", str(config)])
    assert proc.stdin is not None and proc.stderr is not None
    RawStdioClient(proc).initialize()
    proc.stdin.close()  # the host goes away: the gateway exits and lists its modules
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, stderr[-2000:]
    return _loaded(stderr)


def test_run_with_the_default_audit_log_loads_no_http_stack_cli_or_async_database_layer(
    write_config: Callable[..., Path], spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    config = write_config({"servers": {}, "inspections": [{"name": "toolfilter", "mode": "enforce"}]})
    _run_once(config, spawn)  # creates the store: Alembic (and its dialects) load only for that
    modules = _run_once(config, spawn)
    assert "ostiary.store" in modules  # the audit log was on
    assert _tops(modules, (*NOT_FOR_RUN, "alembic")) == []


def test_run_with_every_inspection_loads_no_pydantic_cel_or_unused_detection_data(
    write_config: Callable[..., Path], spawn: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """The quick start's pipeline: its policy (no conditions) is read without pydantic or CEL,
    libphonenumber waits for a candidate number, the witness never loads `cryptography`, and the
    learned tier (`detectors.model: auto`) checks its model files but waits for a text to score
    before it loads numpy; HTML's entity table waits for an entity, difflib for an unknown key to
    explain, ctypes for a stdio server to start."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "defaults: {other: approve}\nrules:\n  - {id: no-reset, effect: deny, tools: [git_reset]}\n"
    )
    inspections = [
        {"name": "toolfilter"},
        {"name": "pinning", "mode": "enforce"},
        {"name": "poisoning", "action": "block"},
        {"name": "policy", "file": str(policy)},
        {"name": "injection", "action": "warn"},
        {"name": "secrets", "action": "redact"},
    ]
    config = write_config({"servers": {}, "inspections": inspections})
    _run_once(config, spawn)
    modules = _run_once(config, spawn)
    assert {"ostiary.policy", "ostiary.detection.secrets", "re2"} <= modules
    unused = (
        "pydantic",
        "celpy",
        "phonenumbers",
        "cryptography",
        "jwt",
        "numpy",
        "html",
        "difflib",
        "ctypes",
    )
    assert _tops(modules, unused) == []


def test_serve_with_the_default_audit_log_loads_no_pydantic_cel_or_async_database_layer(
    write_config: Callable[..., Path], spawn: Callable[..., subprocess.Popen[bytes]], free_port: int
) -> None:
    config = write_config({"servers": {}, "inspections": [{"name": "toolfilter", "mode": "enforce"}]})
    argv = [sys.executable, "-c", WITH_MODULE_LIST, "serve", "--config", str(config)]
    proc = _piped(spawn, [*argv, "--port", str(free_port)])
    wait_for_port(free_port, proc)
    proc.send_signal(signal.SIGINT)  # uvicorn shuts down; the modules are listed on the way out
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()
    # A clean stop either way: 130 when uvicorn hands the interrupt back, 0 when it has consumed it.
    assert proc.wait(timeout=60) in (0, 130), stderr[-2000:]
    modules = _loaded(stderr)
    assert "ostiary.store" in modules and "uvicorn" in modules
    unwanted = (
        "pydantic",
        "celpy",
        "ostiary.policy",
        "sqlalchemy.ext.asyncio",
        "aiosqlite",
        "asyncpg",
        "typer",
    )
    assert _tops(modules, unwanted) == []


def test_serve_builds_only_its_own_command() -> None:
    probe = (
        "import sys\n"
        "from ostiary.cli.app import build_app\n"
        "build_app('serve')\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    modules = set(proc.stdout.split())
    assert "ostiary.cli.serve" in modules
    assert _tops(modules, ("celpy", "ostiary.policy", "ostiary.cli.audit", "ostiary.cli.pins")) == []


def test_run_with_a_store_that_cannot_open_lets_nothing_from_a_server_through_and_exits(
    write_config: Callable[..., Path],
    spawn: Callable[..., subprocess.Popen[bytes]],
    repo_root: Path,
    tmp_path: Path,
) -> None:
    (tmp_path / "ostiary.db").write_bytes(b"not a database" * 512)
    server = repo_root / "tests" / "fixtures" / "faulty_server.py"
    config = write_config({"servers": {"faulty": {"command": sys.executable, "args": [str(server)]}}})
    proc = _piped(spawn, [*OSTIARY, "run", "--config", str(config)])
    client = RawStdioClient(proc)
    client.start_request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}})
    client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    listing = client.start_request("tools/list", {})
    call = client.start_request("tools/call", {"name": "faulty__echo", "arguments": {"text": "hi"}})
    answers = []
    with contextlib.suppress(AssertionError):  # the gateway closes its stdout when it gives up
        while True:
            answers.append(client.next_message(timeout=30))
    assert proc.wait(timeout=30) == 1
    served = [a for a in answers if a.get("id") in (listing, call) and "result" in a]
    assert all(a["result"].get("tools", []) == [] for a in served), served
    assert not any(a.get("id") == call for a in served)
    assert proc.stderr is not None
    assert "refusing to serve without an audit log" in proc.stderr.read().decode()
