"""HTTP upstreams behind `ostiary run`, driven by the official Python SDK client as the host: the
legacy HTTP+SSE server, a dual-era server in either era, and a server that crashes and comes back.
(Streamable HTTP server-everything is covered by the transport matrix in tests/e2e/matrix.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
import yaml
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import get_default_environment, stdio_client

from ostiary import methods
from transports.conftest import Server

pytestmark = pytest.mark.e2e

SAMPLED = "sampled by the host ✓"


async def on_sampling(_ctx: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
    return types.CreateMessageResult(
        role="assistant", content=types.TextContent(type="text", text=SAMPLED), model="m"
    )


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


@pytest.fixture
def through_ostiary(
    tmp_path: Path, ostiary_command: list[str]
) -> Callable[[dict[str, Any], str], contextlib.AbstractAsyncContextManager[Client]]:
    """A connected SDK client whose stdio server is `ostiary run` over the given servers."""

    @contextlib.asynccontextmanager
    async def connect(servers: dict[str, Any], mode: str = "legacy") -> AsyncIterator[Client]:
        config = tmp_path / "ostiary.yaml"
        store = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        config.write_text(yaml.safe_dump({"servers": servers, "store": store}), encoding="utf-8")
        params = StdioServerParameters(
            command=ostiary_command[0],
            args=[*ostiary_command[1:], "run", "--config", str(config)],
            env=get_default_environment(),
        )
        with (tmp_path / "ostiary.log").open("a") as errlog:
            client = Client(
                stdio_client(params, errlog=errlog),
                mode=mode,
                sampling_callback=on_sampling,
                read_timeout_seconds=15,
            )
            async with client:
                yield client

    return connect


async def test_a_legacy_sse_server_serves_a_host_through_ostiary_run(
    everything_sse: Server, through_ostiary: Callable[..., Any]
) -> None:
    servers = {"old": {"url": everything_sse.url, "transport": "sse", "prefix": ""}}
    async with through_ostiary(servers) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"echo", "trigger-long-running-operation", "trigger-sampling-request"} <= names
        assert text_of(await client.call_tool("echo", {"message": "héllo ✓"})) == "Echo: héllo ✓"
        seen: list[float] = []

        async def progress(value: float, total: float | None, message: str | None) -> None:
            seen.append(value)

        await client.call_tool(
            "trigger-long-running-operation", {"duration": 0.4, "steps": 2}, progress_callback=progress
        )
        assert seen == [1, 2]
        sampled = await client.call_tool("trigger-sampling-request", {"prompt": "p", "maxTokens": 4})
        assert SAMPLED in text_of(sampled)


@pytest.mark.parametrize("upstream_era", ["modern", "legacy"])
@pytest.mark.parametrize("client_mode", ["2026-07-28", "legacy"])
async def test_a_dual_era_http_server_answers_through_ostiary_in_either_era(
    py_http: Server, through_ostiary: Callable[..., Any], upstream_era: str, client_mode: str
) -> None:
    servers = {"py": {"url": py_http.url, "prefix": "", "era": upstream_era}}
    async with through_ostiary(servers, client_mode) as client:
        assert text_of(await client.call_tool("echo", {"text": "ünï ✓"})) == "ünï ✓"
        # On a 2026-07-28 upstream this needs Mcp-Param-Region/-Days mirrored from the arguments.
        assert text_of(await client.call_tool("forecast", {"region": "Zürich", "days": 2})) == "Zürich:2"
        resources = (await client.list_resources()).resources
        uri = next(str(r.uri) for r in resources if not str(r.uri).isascii())
        contents = (await client.read_resource(uri)).contents
        assert [getattr(c, "text", None) for c in contents] == ["ünïcödé"]


async def test_an_http_server_that_crashes_fails_calls_cleanly_and_is_used_again_once_back(
    start_everything: Callable[..., Server], through_ostiary: Callable[..., Any]
) -> None:
    server = start_everything("streamableHttp")
    async with through_ostiary({"remote": {"url": server.url, "prefix": ""}}) as client:
        assert text_of(await client.call_tool("echo", {"message": "one"})) == "Echo: one"
        pending = asyncio.create_task(
            client.call_tool("trigger-long-running-operation", {"duration": 20, "steps": 20})
        )
        await asyncio.sleep(0.5)
        server.crash()
        with pytest.raises(MCPError) as failed:
            await asyncio.wait_for(pending, 5)
        assert failed.value.code == methods.UPSTREAM_UNAVAILABLE
        start_everything("streamableHttp", server.port)
        answer = None
        for _ in range(40):
            try:
                answer = await client.call_tool("echo", {"message": "two"})
                break
            except MCPError:
                await asyncio.sleep(0.5)
        assert answer is not None
        assert text_of(answer) == "Echo: two"
