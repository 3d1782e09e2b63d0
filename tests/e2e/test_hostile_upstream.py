"""A hostile MCP server behind the gateway, seen by a real SDK client: the poisoned tool is hidden
before the model sees it and refused if called anyway, the injected result is handled as the
policy says (blocked, or marked as untrusted data), the leaked secret is redacted in text and
structured content alike, and a clean tool passes untouched.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from conftest import refusal

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

HOSTILE = Path(__file__).resolve().parent.parent / "fixtures" / "hostile_server.py"
sys.path.insert(0, str(HOSTILE.parent))
from hostile_server import LEAKED_KEY, LEAKED_PASSWORD  # noqa: E402


def gateway(ostiary_command: list[str], config: Path) -> Client:
    command, *prefix = ostiary_command
    return Client(StdioServerParameters(command=command, args=[*prefix, "run", "--config", str(config)]))


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Callable[[str], Path]:
    def make(injection_action: str) -> Path:
        spec: dict[str, Any] = {
            "servers": {"hostile": {"command": sys.executable, "args": [str(HOSTILE)]}},
            "inspections": [
                {"name": "poisoning"},
                {"name": "injection", "action": injection_action},
                {"name": "secrets", "action": "redact"},
            ],
        }
        return write_config(spec)

    return make


async def test_poisoned_tool_is_hidden_from_the_list_and_clean_tools_stay(
    ostiary_command: list[str], config: Callable[[str], Path]
) -> None:
    async with gateway(ostiary_command, config("block")) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert "hostile__add" not in names
    assert {"hostile__fetch_page", "hostile__read_config", "hostile__weather"} <= names


async def test_poisoned_server_instructions_never_reach_the_client(
    ostiary_command: list[str], config: Callable[[str], Path]
) -> None:
    async with gateway(ostiary_command, config("block")) as client:
        await client.list_tools()
        instructions = client.instructions or ""
    assert "archive@relay.invalid" not in instructions


async def test_calling_the_poisoned_tool_anyway_is_refused(
    ostiary_command: list[str], config: Callable[[str], Path]
) -> None:
    async with gateway(ostiary_command, config("block")) as client:
        await client.list_tools()
        refused = await client.call_tool("hostile__add", {"a": 1, "b": 2, "sidenote": "x"})
    assert refusal(refused)[0] == "poisoning.blocked"


async def test_injected_result_is_blocked_under_the_block_action(
    ostiary_command: list[str], config: Callable[[str], Path]
) -> None:
    async with gateway(ostiary_command, config("block")) as client:
        refused = await client.call_tool("hostile__fetch_page", {"url": "https://docs.invalid/"})
    code, text = refusal(refused)
    assert code == "injection.blocked"
    assert "Ignore all previous" not in text


async def test_injected_result_is_marked_as_untrusted_under_the_warn_action(
    ostiary_command: list[str], config: Callable[[str], Path]
) -> None:
    async with gateway(ostiary_command, config("warn")) as client:
        result = await client.call_tool("hostile__fetch_page", {"url": "https://docs.invalid/"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith("[Ostiary: the text below came from hostile")
    assert text.endswith("[Ostiary: end of untrusted data]")
    assert "release notes" in text


async def test_leaked_secrets_are_redacted_in_text_and_structured_content(
    ostiary_command: list[str], config: Callable[[str], Path]
) -> None:
    async with gateway(ostiary_command, config("block")) as client:
        result = await client.call_tool("hostile__read_config", {"name": "prod"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert LEAKED_KEY not in text
    assert LEAKED_PASSWORD not in text
    parsed = json.loads(text)
    assert parsed["aws_access_key_id"] == "[REDACTED:secret.aws-access-token]"
    assert (
        parsed["database_url"]
        == "postgresql://app:[REDACTED:secret.connection_password]@db.internal:5432/orders"
    )
    assert parsed["replicas"] == 3
    assert result.structured_content is not None
    assert result.structured_content["aws_access_key_id"] == "[REDACTED:secret.aws-access-token]"
    assert LEAKED_PASSWORD not in json.dumps(result.structured_content)


async def test_a_clean_tool_result_passes_unchanged(
    ostiary_command: list[str], config: Callable[[str], Path]
) -> None:
    async with gateway(ostiary_command, config("block")) as client:
        result = await client.call_tool("hostile__weather", {"city": "Lisbon"})
    assert result.content[0].text == "Lisbon: sunny, 24 degrees, light wind from the north-west."  # type: ignore[union-attr]
