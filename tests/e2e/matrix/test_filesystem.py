"""server-filesystem (2025-11-25, stdio) directly and through Ostiary: files written and read back
in a temporary directory, structured output kept, and its access errors passed on unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from .checks import all_tools, text_of
from .held import HeldClient
from .topology import LEGACY_STDIO_LEGS, Leg

SERVER = "filesystem"
LEGS = LEGACY_STDIO_LEGS
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def test_a_file_written_through_the_server_reads_back_identically(
    conn: HeldClient, leg: Leg, filesystem_root: Path
) -> None:
    path = filesystem_root / f"written-{leg.id}.txt"
    content = f"leg {leg.id}: ünïcødé ✓ 🦀\nsecond line\n"

    async def check(client: Client) -> tuple[Any, ...]:
        wrote = await client.call_tool("write_file", {"path": str(path), "content": content})
        read = await client.call_tool("read_text_file", {"path": str(path)})
        listing = await client.call_tool("list_directory", {"path": str(filesystem_root)})
        return wrote, read, listing

    wrote, read, listing = conn.run(check)
    assert not wrote.is_error
    assert path.read_text(encoding="utf-8") == content
    assert text_of(read) == content
    assert read.structured_content == {"content": content}
    assert f"[FILE] {path.name}" in text_of(listing)


def test_every_filesystem_tool_keeps_its_output_schema(conn: HeldClient) -> None:
    tools = conn.run(all_tools)
    assert len(tools) == 14
    assert all(tool.output_schema is not None for tool in tools)


def test_a_path_outside_the_allowed_directory_keeps_the_servers_error(conn: HeldClient) -> None:
    result = conn.run(lambda c: c.call_tool("read_text_file", {"path": "/etc/hostname"}))
    assert result.is_error
    assert "Access denied" in text_of(result)
