"""`ostiary doctor` checks what a gateway needs and says what to fix; exit 1 when something fails."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def _doctor(config: Path, home: Path, seconds: int = 20) -> subprocess.CompletedProcess[str]:
    ostiary = str(Path(sys.executable).parent / "ostiary")
    env = {**os.environ, "HOME": str(home)}
    env.pop("OSTIARY_STORE", None)
    return subprocess.run(
        [ostiary, "doctor", "--config", str(config), "--timeout", str(seconds)],
        capture_output=True, text=True, timeout=80, env=env, check=False,
    )  # fmt: skip


def _create_store(url: str) -> None:
    """The store a gateway would have made at its first start."""
    import asyncio

    from ostiary.store import open_url

    async def create() -> None:
        await (await open_url(url)).close()

    asyncio.run(create())


def test_a_healthy_gateway_passes_every_check(write_config: Callable[..., Path], tmp_path: Path) -> None:
    config = write_config({"servers": {"time": {"command": "mcp-server-time"}}})
    done = _doctor(config, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok   server time: connects: mcp-time" in done.stdout
    assert "ok   store: none yet" in done.stdout  # checking creates nothing
    assert not (tmp_path / "ostiary.db").exists()
    assert "FAIL" not in done.stdout


def test_each_problem_is_named_with_its_fix(write_config: Callable[..., Path], tmp_path: Path) -> None:
    config = write_config(
        {
            "servers": {
                "time": {"command": "mcp-server-time"},
                "notes": {"command": "no-such-mcp-server"},
                "hangs": {"command": sys.executable, "args": ["-c", "import time; time.sleep(60)"]},
            },
            "inspections": [{"name": "policy", "file": "missing-policy.yaml"}],
        }
    )
    store = tmp_path / "ostiary.db"
    _create_store(f"sqlite+aiosqlite:///{store}")
    store.chmod(0o644)
    done = _doctor(config, tmp_path, 8)
    assert done.returncode == 1
    out = done.stdout
    assert "FAIL server notes: command: command 'no-such-mcp-server' not found" in out
    assert "fix: install it, or give its absolute path as `command:`" in out
    assert "FAIL inspections:" in out and "missing-policy.yaml" in out
    assert f"fix: chmod 600 '{store}'" in out
    assert "ok   server time: connects" in out
    assert "FAIL server hangs: connects" in out


def test_a_configuration_error_names_the_line(tmp_path: Path) -> None:
    config = tmp_path / "ostiary.yaml"
    config.write_text("servers:\n  time:\n    command: mcp-server-time\n    timeout: -1\n")
    done = _doctor(config, tmp_path)
    assert done.returncode == 1
    assert "FAIL configuration:" in done.stdout and "line 4" in done.stdout
