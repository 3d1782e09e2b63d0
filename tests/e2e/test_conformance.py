"""The official MCP conformance suite, run against Ostiary with a real SDK server behind it.

`@modelcontextprotocol/conformance` drives a server through the scenarios each protocol revision
requires. Its verdicts are compared with tests/conformance/expected-failures.yaml: a failure not
listed there fails the test, and so does a listed failure that no longer happens, so the file
always says exactly what does not work yet. Each reason starts with where the failure happens:
"fixture:" against the fixture directly and through Ostiary, "direct:" only directly (Ostiary
covers for the fixture), "gateway:" only through Ostiary; "timing:" may fail through Ostiary on
a loaded machine, the suite's deadline for it being shorter than a busy machine needs (such an
entry is never reported as stale).
The direct baseline run checks "fixture:" and "direct:", the runs through Ostiary the others.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import free_loopback_port, wait_for_port

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "fixtures" / "conformance_server.py"
EXPECTED = HERE.parent / "conformance" / "expected-failures.yaml"
REVISIONS = ("2025-11-25", "2026-07-28")
RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")
SUITE_TIMEOUT = 240.0
KINDS = ("fixture", "direct", "gateway", "timing")


def expected_failures(revision: str, *kinds: str) -> dict[str, str]:
    """`scenario` or `scenario:check-id` -> the one-line reason it is expected to fail, for the
    given kinds of entry (all when none are given)."""
    entries = yaml.safe_load(EXPECTED.read_text(encoding="utf-8")).get(revision) or {}
    for key, reason in entries.items():
        assert isinstance(reason, str), f"{revision}/{key}: every expected failure needs a reason"
        assert reason.strip(), f"{revision}/{key}: every expected failure needs a reason"
    return {k: v for k, v in entries.items() if not kinds or v.split(":", 1)[0] in kinds}


def run_suite(node22: Path, peers_dir: Path, url: str, revision: str, out: Path) -> set[str]:
    """Runs every server scenario a revision requires against `url`; returns the failing checks."""
    cli = peers_dir / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    command = [str(node22), str(cli), "server", "--url", url, "--requirements", revision, "-o", str(out)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=SUITE_TIMEOUT, check=False)
    failing = failing_checks(out)
    ran = list(out.iterdir()) if out.exists() else []
    assert ran, f"the conformance suite produced no results (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    return failing


def failing_checks(results: Path) -> set[str]:
    """`scenario:check-id` of every check the suite judged a FAILURE."""
    failing: set[str] = set()
    for directory in sorted(results.iterdir()):
        match = RESULT_DIR.match(directory.name)
        checks_file = directory / "checks.json"
        if not match or not checks_file.is_file():
            continue
        checks: list[dict[str, Any]] = json.loads(checks_file.read_text(encoding="utf-8"))
        failing.update(f"{match['scenario']}:{c['id']}" for c in checks if c.get("status") == "FAILURE")
    return failing


def compare(failing: set[str], expected: dict[str, str]) -> list[str]:
    """Unexpected failures and stale expectations, as readable lines; empty when the file is true."""

    def excused_by(check: str) -> str | None:
        scenario = check.split(":", 1)[0]
        return check if check in expected else scenario if scenario in expected else None

    problems = [f"unexpected failure: {check}" for check in sorted(failing) if excused_by(check) is None]
    used = {excused_by(check) for check in failing}
    problems += [
        f"expected to fail but passed (remove it from {EXPECTED.name}): {key}  # {expected[key]}"
        for key in sorted(expected)
        if key not in used and not expected[key].startswith("timing:")
    ]
    return problems


def test_the_expected_failures_file_gives_a_reason_for_every_entry() -> None:
    data = yaml.safe_load(EXPECTED.read_text(encoding="utf-8"))
    assert set(data) <= set(REVISIONS), f"unknown revisions in {EXPECTED.name}: {set(data) - set(REVISIONS)}"
    for revision in REVISIONS:
        for key, reason in expected_failures(revision).items():
            kind = reason.split(":", 1)[0]
            assert kind in KINDS, f"{key}: the reason must start with one of {KINDS}"


@pytest.mark.parametrize("revision", REVISIONS)
def test_the_fixture_server_alone_fails_only_what_the_file_marks_as_fixture_failures(
    revision: str,
    node22: Path,
    peers_dir: Path,
    spawn: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    port = free_loopback_port()
    server = spawn([sys.executable, str(FIXTURE), "http", "--port", str(port)], stderr=subprocess.DEVNULL)
    wait_for_port(port, server)
    failing = run_suite(node22, peers_dir, f"http://127.0.0.1:{port}/mcp", revision, tmp_path / "results")
    problems = compare(failing, expected_failures(revision, "fixture", "direct"))
    assert problems == [], "\n".join(problems)


# A stdio server is started per 2025-era client session, and the 2025-11-25 suite opens one
# session per scenario; that combination costs minutes on a small machine, and the stdio side of a
# session is exercised by the 2026-07-28 stdio run and the end-to-end matrix.
THROUGH = [("2025-11-25", "http"), ("2026-07-28", "http"), ("2026-07-28", "stdio")]


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("revision", "upstream"), THROUGH)
def test_the_conformance_suite_through_ostiary_fails_only_what_the_file_expects(
    revision: str,
    upstream: str,
    node22: Path,
    peers_dir: Path,
    ostiary_command: list[str],
    spawn: Callable[..., subprocess.Popen[bytes]],
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    if upstream == "stdio":
        server: dict[str, Any] = {"command": sys.executable, "args": [str(FIXTURE), "stdio"], "prefix": ""}
    else:
        upstream_port = free_loopback_port()
        upstream_proc = spawn(
            [sys.executable, str(FIXTURE), "http", "--port", str(upstream_port)], stderr=subprocess.DEVNULL
        )
        wait_for_port(upstream_port, upstream_proc)
        server = {"url": f"http://127.0.0.1:{upstream_port}/mcp", "prefix": ""}
    config = write_config(
        {"servers": {"conformance": server}, "store": f"sqlite+aiosqlite:///{tmp_path}/store.db"}
    )
    port = free_loopback_port()
    log = (tmp_path / "gateway.log").open("wb")
    gateway = spawn(
        [*ostiary_command, "serve", "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        stderr=log,
        stdout=log,
    )
    wait_for_port(port, gateway)
    failing = run_suite(node22, peers_dir, f"http://127.0.0.1:{port}/mcp", revision, tmp_path / "results")
    problems = compare(failing, expected_failures(revision, "fixture", "gateway", "timing"))
    assert gateway.poll() is None, "the gateway exited during the conformance run"
    assert problems == [], "\n".join(problems)
