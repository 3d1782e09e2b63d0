"""mcp-server-time (dual-era, Python SDK 2.3.0) directly and through Ostiary, with every pairing of
client era and the era Ostiary is told to speak to the server."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from .checks import send_raw
from .held import HeldClient
from .topology import DUAL_ERA_LEGS

SERVER = "time_server"
LEGS = DUAL_ERA_LEGS
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def test_get_current_time_answers_with_structured_content_in_the_asked_zone(conn: HeldClient) -> None:
    result = conn.run(lambda c: c.call_tool("get_current_time", {"timezone": "UTC"}))
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["timezone"] == "UTC"
    stamp = datetime.fromisoformat(result.structured_content["datetime"])
    assert stamp.utcoffset() is not None
    assert stamp.utcoffset().total_seconds() == 0


def test_convert_time_keeps_the_output_schema_and_the_conversion(conn: HeldClient) -> None:
    async def check(client: Client) -> tuple[Any, ...]:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        arguments = {"source_timezone": "Europe/Zurich", "time": "13:45", "target_timezone": "Asia/Tokyo"}
        return tools, await client.call_tool("convert_time", arguments)

    tools, result = conn.run(check)
    assert set(tools) == {"get_current_time", "convert_time"}
    assert tools["convert_time"].output_schema is not None
    assert result.structured_content is not None
    assert result.structured_content["source"]["timezone"] == "Europe/Zurich"
    assert result.structured_content["target"]["timezone"] == "Asia/Tokyo"
    assert result.structured_content["target"]["datetime"][11:16] in {"21:45", "20:45"}


def test_an_unknown_tool_keeps_the_servers_invalid_params_error(conn: HeldClient) -> None:
    async def check(client: Client) -> MCPError:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("no_such_tool", {})
        return raised.value

    error = conn.run(check)
    assert error.code == -32602
    assert "no_such_tool" in error.error.message


def test_an_unknown_method_is_answered_with_method_not_found(conn: HeldClient) -> None:
    async def check(client: Client) -> MCPError:
        with pytest.raises(MCPError) as raised:
            await send_raw(client, "matrix/no-such-method", {})
        return raised.value

    assert conn.run(check).code == -32601
