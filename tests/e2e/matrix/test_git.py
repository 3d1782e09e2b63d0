"""mcp-server-git (dual-era, Python SDK 2.3.0) directly and through Ostiary on a temporary repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from .checks import text_of
from .held import HeldClient
from .topology import DUAL_ERA_LEGS

SERVER = "git_server"
# Every pairing of client and upstream era on the stdio front (mcp-server-time also covers HTTP).
LEGS = tuple(leg for leg in DUAL_ERA_LEGS if leg.front == "stdio")
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def test_git_status_reports_the_modified_and_the_untracked_file(conn: HeldClient, git_repo: Path) -> None:
    result = conn.run(lambda c: c.call_tool("git_status", {"repo_path": str(git_repo)}))
    assert not result.is_error
    status = text_of(result)
    assert "modified:   tracked.txt" in status
    assert "untracked-" in status


def test_git_diff_shows_the_unstaged_change(conn: HeldClient, git_repo: Path) -> None:
    result = conn.run(lambda c: c.call_tool("git_diff_unstaged", {"repo_path": str(git_repo)}))
    assert not result.is_error
    diff = text_of(result)
    assert "tracked.txt" in diff
    assert "+second" in diff
