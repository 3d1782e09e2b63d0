"""Policy through `ostiary run`, seen by a real SDK host in front of the real server-filesystem:
the model is shown only what the policy allows, path arguments are checked after normalisation,
and a hidden tool called anyway is refused with a stable code instead of "not found"."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from conftest import refusal

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]
GATEWAY_DENIED = -32010

POLICY = """
defaults: {{read_only: allow, other: deny}}
rules:
  - id: write-under-data
    effect: allow
    servers: [fs]
    tools: [write_file, create_directory]
    when: path_within(args.path, "{data}")
  - id: never-move
    effect: deny
    servers: [fs]
    tools: [move_file]
"""


@pytest.fixture
def gateway(
    tmp_path: Path, peers_dir: Path, ostiary_command: list[str], write_config: Callable[..., Path]
) -> Client:
    data = tmp_path / "root" / "data"
    data.mkdir(parents=True)
    (tmp_path / "policy.yaml").write_text(POLICY.format(data=data))
    server = peers_dir / "@modelcontextprotocol" / "server-filesystem" / "dist" / "index.js"
    spec: dict[str, Any] = {
        "servers": {
            "fs": {
                "command": "node",
                "args": [str(server), str(tmp_path / "root")],
                "trust_annotations": True,
            }
        },
        "identity": {"subject": "dana", "groups": ["dev"]},
        "inspections": [{"name": "policy", "file": "policy.yaml"}],
    }
    config = write_config(spec)
    command, *prefix = ostiary_command
    params = StdioServerParameters(command=command, args=[*prefix, "run", "--config", str(config)])
    # Legacy handshake: these tests are about policy; the era probe has its own tests.
    return Client(params, mode="legacy")


async def test_the_model_sees_only_tools_the_policy_could_allow(gateway: Client) -> None:
    async with gateway as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert {"fs__read_text_file", "fs__list_directory", "fs__write_file", "fs__create_directory"} <= names
    # Unconditionally denied, and unannotated-or-destructive without a rule: hidden.
    assert "fs__move_file" not in names
    assert "fs__edit_file" not in names


async def test_a_write_under_the_allowed_directory_goes_through(gateway: Client, tmp_path: Path) -> None:
    target = tmp_path / "root" / "data" / "notes.txt"
    async with gateway as client:
        result = await client.call_tool("fs__write_file", {"path": str(target), "content": "hello"})
    assert not result.is_error
    assert target.read_text() == "hello"


async def test_a_write_that_climbs_out_with_dotdot_is_refused_before_the_server_sees_it(
    gateway: Client, tmp_path: Path
) -> None:
    escape = tmp_path / "root" / "data" / ".." / "escaped.txt"
    async with gateway as client:
        code, text = refusal(await client.call_tool("fs__write_file", {"path": str(escape), "content": "x"}))
    assert code == "policy.denied"
    assert "escaped.txt" not in text
    assert not (tmp_path / "root" / "escaped.txt").exists()


async def test_a_hidden_tool_called_anyway_gets_a_clear_denial_naming_the_rule(gateway: Client) -> None:
    async with gateway as client:
        code, text = refusal(await client.call_tool("fs__move_file", {"source": "/a", "destination": "/b"}))
    assert code == "policy.denied"
    assert "never-move" in text
    assert "ask the person who runs the gateway" in text  # what to do, not only what happened


async def test_a_policy_changed_while_the_gateway_runs_applies_and_a_broken_one_does_not(
    tmp_path: Path, peers_dir: Path, ostiary_command: list[str], write_config: Callable[..., Path]
) -> None:
    data = tmp_path / "root" / "data"
    data.mkdir(parents=True)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(data=data))
    server = peers_dir / "@modelcontextprotocol" / "server-filesystem" / "dist" / "index.js"
    config = write_config(
        {
            "servers": {"fs": {"command": "node", "args": [str(server), str(tmp_path / "root")]}},
            "inspections": [{"name": "policy", "file": "policy.yaml", "interval": 0.1}],
            # Refusals as JSON-RPC errors, as scripts written against earlier gateways expect.
            "denials": "error",
        }
    )

    def replace(text: str) -> None:
        (tmp_path / "policy.new").write_text(text)
        os.replace(tmp_path / "policy.new", policy)

    async def names(client: Client) -> set[str]:
        return {tool.name for tool in (await client.list_tools()).tools}

    async def until(client: Client, check: Callable[[set[str]], bool]) -> set[str]:
        for _ in range(50):
            found = await names(client)
            if check(found):
                return found
            await asyncio.sleep(0.1)
        return found

    command, *prefix = ostiary_command
    params = StdioServerParameters(command=command, args=[*prefix, "run", "--config", str(config)])
    async with Client(params, mode="legacy") as client:
        assert "fs__write_file" in await names(client)
        replace("rules:\n  - {id: no-writes, effect: deny, servers: [fs], tools: [write_file]}\n")
        assert "fs__write_file" not in await until(client, lambda found: "fs__write_file" not in found)
        with pytest.raises(MCPError) as raised:
            await client.call_tool("fs__write_file", {"path": str(data / "x"), "content": "x"})
        assert raised.value.code == GATEWAY_DENIED
        assert "no-writes" in raised.value.error.message
        replace("rules:\n  - {id: broken, effect: allow, when: 'args.('}\n")
        await asyncio.sleep(0.6)
        with pytest.raises(MCPError) as raised:
            await client.call_tool("fs__write_file", {"path": str(data / "x"), "content": "x"})
        assert "no-writes" in raised.value.error.message  # the last good policy is still in force


async def test_a_trusted_read_only_tool_is_allowed_even_before_the_host_lists_tools(
    gateway: Client, tmp_path: Path
) -> None:
    (tmp_path / "root" / "data" / "a.txt").write_text("content")
    async with gateway as client:
        result = await client.call_tool(
            "fs__read_text_file", {"path": str(tmp_path / "root" / "data" / "a.txt")}
        )
    assert not result.is_error
