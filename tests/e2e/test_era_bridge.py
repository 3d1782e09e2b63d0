"""Both protocol eras, bridged: every client era in front of every server era, on both fronts.

The server asks its client for a model completion (sampling), for a value (elicitation) and for its
roots. A 2025-era server asks with server->client requests, a 2026-07-28 server with
InputRequiredResult; a 2025-era client answers requests, a 2026-07-28 client retries with
inputResponses. Ostiary translates between them; the real SDK client must not be able to tell.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mcp_types as t
import pytest
from mcp import Client, StdioServerParameters
from rawstdio import RawStdioClient

from conftest import free_loopback_port, wait_for_port

pytestmark = pytest.mark.e2e
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "interactive_server.py"


async def _sampling(ctx: Any, params: Any) -> t.CreateMessageResult:
    return t.CreateMessageResult(
        role="assistant", content=t.TextContent(type="text", text="forty-two"), model="m"
    )


async def _elicit(ctx: Any, params: Any) -> t.ElicitResult:
    return t.ElicitResult(action="accept", content={"colour": "teal"})


async def _roots(ctx: Any) -> t.ListRootsResult:
    return t.ListRootsResult(roots=[t.Root(uri="file:///srv/a"), t.Root(uri="file:///srv/b")])


@pytest.fixture
def gateway_config(write_config: Callable[..., Path]) -> Callable[[str], Path]:
    def make(server_era: str) -> Path:
        server = {"command": sys.executable, "args": [str(FIXTURE)], "era": server_era}
        return write_config({"servers": {"ia": server}})

    return make


@pytest.fixture
def http_gateway(
    spawn: Callable[..., subprocess.Popen[bytes]], ostiary_command: list[str]
) -> Callable[[Path], str]:
    def start(config: Path) -> str:
        port = free_loopback_port()
        proc = spawn([*ostiary_command, "serve", "--config", str(config), "--port", str(port)])
        wait_for_port(port, proc)
        return f"http://127.0.0.1:{port}/mcp"

    return start


@pytest.mark.parametrize("server_era", ["legacy", "modern"])
@pytest.mark.parametrize("client_era", ["legacy", "2026-07-28"])
@pytest.mark.parametrize("front", ["stdio", "http"])
async def test_a_server_can_ask_the_client_whatever_the_eras_on_either_side(
    front: str,
    client_era: str,
    server_era: str,
    gateway_config: Callable[[str], Path],
    http_gateway: Callable[[Path], str],
    ostiary_command: list[str],
) -> None:
    config = gateway_config(server_era)
    target: Any
    if front == "stdio":
        target = StdioServerParameters(command=ostiary_command[0], args=["run", "--config", str(config)])
    else:
        target = http_gateway(config)
    async with Client(
        target,
        mode=client_era,
        sampling_callback=_sampling,
        elicitation_callback=_elicit,
        list_roots_callback=_roots,
    ) as client:
        assert client.protocol_version == ("2026-07-28" if client_era == "2026-07-28" else "2025-11-25")
        sampled = await client.call_tool("ia__ask_model", {"question": "meaning?"})
        elicited = await client.call_tool("ia__favourite_colour", {})
        rooted = await client.call_tool("ia__count_roots", {})
    texts = [
        r.content[0].text for r in (sampled, elicited, rooted) if isinstance(r.content[0], t.TextContent)
    ]
    assert texts == ["model said: forty-two", "colour: teal", "roots: 2 file:///srv/a file:///srv/b"]
    assert not any(r.is_error for r in (sampled, elicited, rooted))


def test_a_client_that_probes_then_falls_back_to_the_handshake_is_served(
    write_config: Callable[..., Path],
    ostiary_command: list[str],
    spawn: Callable[..., subprocess.Popen[bytes]],
) -> None:
    """The SDK's `auto` mode sends server/discover and, if that is slow, initialize: both must work."""
    config = write_config({"servers": {"ia": {"command": sys.executable, "args": [str(FIXTURE)]}}})
    proc = spawn(
        [*ostiary_command, "run", "--config", str(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    client = RawStdioClient(proc)
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    client.send({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}})
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
    )
    answers = {i: client.response_to(i, timeout=60) for i in (1, 2)}
    client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    client.send({"jsonrpc": "2.0", "id": 3, "method": "tools/list"})
    listed = client.response_to(3, timeout=60)
    assert answers[1]["result"]["supportedVersions"] == ["2026-07-28"]
    assert answers[2]["result"]["protocolVersion"] == "2025-11-25"
    assert "resultType" not in listed["result"]  # the session now speaks the handshake era
    assert {t["name"] for t in listed["result"]["tools"]} >= {"ia__ask_model"}
