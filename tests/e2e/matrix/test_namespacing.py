"""Two servers behind one Ostiary, with the default namespacing: every tool and prompt appears as
`<server>__<name>`, within `[A-Za-z0-9_-]{1,64}`, and each call reaches the server that owns it.
The expected names are what each server lists when a client talks to it directly."""

from __future__ import annotations

import re
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from .checks import all_tools, text_of, walk_pages
from .held import HeldClient
from .topology import READ_TIMEOUT_SECONDS, Leg, Server, Topology, direct, through

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

# Both fronts and both client eras, two legs: namespacing does not depend on the pairing.
LEGS = (through("stdio", "stdio", "legacy"), through("http", "stdio", "modern"))
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@pytest.fixture(scope="module")
def topology(make_topology: Any, everything: Server, time_server: Server) -> Topology:
    """Direct connections to both servers, and one gateway serving both, held for the module."""
    topology: Topology = make_topology([(everything, [direct("stdio")]), (time_server, [direct("stdio")])])
    servers = {
        "everything": everything.stdio_entry("auto", None),
        "time": time_server.stdio_entry("auto", None),
    }
    url = topology.gateway_url(servers)
    for leg in LEGS:

        def make(host: Any, leg: Leg = leg) -> Client:
            target = url if leg.front == "http" else topology.gateway_stdio(topology.gateway_config(servers))
            return Client(target, mode=leg.mode, read_timeout_seconds=READ_TIMEOUT_SECONDS, **host.options())

        topology.hold("both", leg, make)
    return topology


@pytest.fixture(params=LEGS, ids=lambda leg: leg.id)
def both(request: pytest.FixtureRequest, topology: Topology) -> HeldClient:
    return topology.held_by_name("both", request.param)


def test_every_tool_and_prompt_is_named_server__name_within_64_safe_characters(
    both: HeldClient, topology: Topology, everything: Server, time_server: Server
) -> None:
    def names(held: HeldClient) -> tuple[set[str], set[str]]:
        async def check(client: Client) -> tuple[set[str], set[str]]:
            prompts, _ = await walk_pages(lambda c: client.list_prompts(cursor=c), "prompts")
            return {t.name for t in await all_tools(client)}, {p.name for p in prompts}

        return held.run(check)

    everything_tools, everything_prompts = names(topology.held(everything, direct("stdio")))
    time_tools, time_prompts = names(topology.held(time_server, direct("stdio")))
    tools, prompts = names(both)
    assert tools == {f"everything__{n}" for n in everything_tools} | {f"time__{n}" for n in time_tools}
    assert prompts == {f"everything__{n}" for n in everything_prompts} | {f"time__{n}" for n in time_prompts}
    assert all(NAME.match(name) for name in tools | prompts)


def test_a_namespaced_call_reaches_the_server_that_owns_the_tool(both: HeldClient) -> None:
    async def check(client: Client) -> tuple[types.CallToolResult, types.CallToolResult]:
        echo = await client.call_tool("everything__echo", {"message": "to everything"})
        now = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
        return echo, now

    echo, now = both.run(check)
    assert text_of(echo) == "Echo: to everything"
    assert now.structured_content is not None
    assert now.structured_content["timezone"] == "UTC"


def test_a_namespaced_prompt_and_an_unchanged_resource_uri_reach_their_server(both: HeldClient) -> None:
    async def check(client: Client) -> tuple[types.GetPromptResult, types.ReadResourceResult]:
        prompt = await client.get_prompt("everything__args-prompt", {"city": "Kyōto"})
        return prompt, await client.read_resource("demo://resource/dynamic/text/2")

    prompt, resource = both.run(check)
    assert any("Kyōto" in getattr(m.content, "text", "") for m in prompt.messages)
    assert resource.contents[0].uri == "demo://resource/dynamic/text/2"


def test_a_bare_server_name_is_not_callable_once_namespaced(both: HeldClient) -> None:
    async def check(client: Client) -> bool:
        try:
            result = await client.call_tool("echo", {"message": "no prefix"})
        except MCPError:
            return True
        return result.is_error is True

    assert both.run(check)
