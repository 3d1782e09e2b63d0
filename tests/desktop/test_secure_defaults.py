"""A bare `mcpServers` file, the kind the docs invite users to point Ostiary at, gets the content
inspections without naming any; `inspections: []` turns them off, and the gateway says so."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from ostiary.config import parse
from ostiary.gateway import Gateway

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
from hostile_server import LEAKED_KEY, LEAKED_PASSWORD  # noqa: E402


@pytest.mark.e2e
@pytest.mark.timeout(90)
async def test_a_bare_mcp_servers_file_blocks_poison_marks_injection_and_redacts_secrets(
    tmp_path: Path,
) -> None:
    host_config = tmp_path / "claude_desktop_config.json"
    server = {"command": sys.executable, "args": [str(FIXTURES / "hostile_server.py")]}
    host_config.write_text(json.dumps({"mcpServers": {"hostile": server}}), encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "OSTIARY_STORE": f"sqlite+aiosqlite:///{tmp_path / 'ostiary.db'}",
    }
    ostiary = str(Path(sys.executable).parent / "ostiary")
    params = StdioServerParameters(command=ostiary, args=["run", "--config", str(host_config)], env=env)
    async with Client(params, mode="legacy") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        page = await client.call_tool("hostile__fetch_page", {"url": "https://docs.invalid/"})
        leaked = await client.call_tool("hostile__read_config", {"name": "prod"})
    assert "hostile__add" not in names  # its description carries instructions for the model
    assert "hostile__weather" in names
    text = page.content[0].text  # type: ignore[union-attr]
    assert text.startswith("[Ostiary: the text below came from hostile")
    leaked_text = leaked.content[0].text  # type: ignore[union-attr]
    assert LEAKED_KEY not in leaked_text and LEAKED_PASSWORD not in leaked_text


def test_no_inspections_named_means_the_content_inspections() -> None:
    names = [spec.name for spec in parse('{"mcpServers": {}}').inspections]
    assert names == ["toolfilter", "pinning", "poisoning", "injection", "secrets"]
    assert parse("servers: {}").inspections == parse('{"mcpServers": {}}').inspections


async def test_an_explicit_empty_list_turns_them_off_and_the_gateway_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = parse("inspections: []\naudit: {enabled: false}\n")
    assert config.inspections == []
    gateway = Gateway(config)
    with caplog.at_level(logging.WARNING, logger="ostiary.gateway"):
        try:
            await gateway.start()
        finally:
            await gateway.close()
    assert any("UNSAFE: no inspections" in r.getMessage() for r in caplog.records)
    assert gateway.pipeline.stages == []
