"""Runs the real `ostiary` command against a test store, as an operator would."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import yaml

KEY_ENV = "OSTIARY_TEST_AUDIT_KEY"


def write_config(directory: Path, store_url: str, key: bytes, **sections: Any) -> Path:
    """A configuration naming the store and the chain key (as a secret reference, never inline)."""
    path = directory / "ostiary.yaml"
    # The witness beside this test's files: a PostgreSQL store's default witness is in the user's
    # data folder, shared by every test database (and emptied between tests behind its back).
    audit = {"checkpoint_key": f"${{env:{KEY_ENV}}}", "witness": {"file": str(directory / "witness.jsonl")}}
    config = {"store": store_url, "audit": audit, **sections}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    os.environ[KEY_ENV] = key.decode()
    return path


async def ostiary_process(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """`ostiary ARGS…` as its own process: (exit code, stdout, stderr)."""
    command = str(Path(sys.executable).parent / "ostiary")
    env = {k: v for k, v in os.environ.items() if k != "OSTIARY_STORE"}
    proc = await asyncio.create_subprocess_exec(
        command, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def ostiary(*args: str) -> tuple[int, str, str]:
    """`ostiary ARGS…` in this process (the same Typer application, without a process start-up)."""
    from typer.testing import CliRunner

    from ostiary.cli.app import build_app

    def invoke() -> tuple[int, str, str]:
        result = CliRunner().invoke(build_app(), list(args), env={"OSTIARY_STORE": None})
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return await asyncio.to_thread(invoke)
