"""The quick start as the README tells it: a write is held, `ostiary approvals approve` lets it
run, and the audit log names the reviewer. The bundled configuration and policy are used as they
are, except that the git server works on a scratch repository instead of the checkout."""

from __future__ import annotations

import asyncio
import getpass
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from mcp import Client

from approvals.gateways import approval_events, pending_request, run_ostiary, serve
from conftest import refusal

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


@pytest.fixture
def quickstart(repo_root: Path, tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "start"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo, check=True
        )
    config = yaml.safe_load((repo_root / "examples" / "quickstart.yaml").read_text())
    config["servers"]["git"]["args"] = ["--repository", str(repo)]
    config["servers"]["git"]["cwd"] = str(repo)
    config["store"] = f"sqlite+aiosqlite:///{tmp_path / 'ostiary.db'}"
    config["audit"] = {"key_file": str(tmp_path / "audit.key")}
    shutil.copy(repo_root / "examples" / "quickstart-policy.yaml", tmp_path / "quickstart-policy.yaml")
    path = tmp_path / "quickstart.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def test_the_quick_start_holds_a_write_until_approved_and_records_the_reviewer(
    quickstart: Path, ostiary_command: list[str], spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    # As scripts/start runs it: with the virtual environment's commands on the PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    base = serve(spawn, ostiary_command, quickstart, env={**os.environ, "PATH": path})
    repo = str(quickstart.parent / "repo")
    async with Client(f"{base}/mcp", mode="legacy") as client:
        status = await client.call_tool("git__git_status", {"repo_path": repo})
        assert not status.is_error  # read-only: runs at once
        never, _ = refusal(await client.call_tool("git__git_reset", {"repo_path": repo}))
        assert never == "policy.denied"
        write = asyncio.create_task(
            client.call_tool("git__git_create_branch", {"repo_path": repo, "branch_name": "reviewed"})
        )
        pending = await pending_request(ostiary_command, quickstart)
        assert pending["tool"] == "git_create_branch"
        assert not write.done()
        run_ostiary(ostiary_command, "approvals", "approve", pending["id"], "--config", str(quickstart))
        created = await asyncio.wait_for(write, 30)
    assert not created.is_error
    assert (Path(repo) / ".git" / "refs" / "heads" / "reviewed").is_file()
    events = approval_events(ostiary_command, quickstart)
    assert [e["code"] for e in events] == ["approval.requested", "approval.approved"]
    assert events[1]["approval"]["reviewer"] == getpass.getuser()
