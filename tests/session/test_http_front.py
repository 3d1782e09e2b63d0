"""The HTTP front through an in-process ASGI client, with in-memory servers behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from ostiary import messages, methods
from ostiary.client_side.http import HttpFront
from ostiary.messages import JSON
from ostiary.testing import ALICE, Client, ServerRun, ToolServer, gateway, text

pytestmark = pytest.mark.timeout(20)

BARE: JSON = {"audit": {"enabled": False}, "inspections": []}
URL = "http://127.0.0.1:8765/mcp"
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def echo(params: JSON, run: ServerRun) -> JSON:
    return text(f"echo:{params.get('arguments', {}).get('say', '')}")


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    alpha = ToolServer({"say": echo}, name="alpha")
    async with gateway(BARE, servers={"alpha": alpha}) as built:
        front = HttpFront(built, None, ALICE)
        transport = httpx2.ASGITransport(app=front)
        async with httpx2.AsyncClient(transport=transport) as client:
            yield client
        for entry in list(front.sessions.values()):
            await entry.session.close()


def rpc(request_id: int, method: str, params: JSON | None = None) -> bytes:
    return messages.dumps(messages.request(request_id, method, params))


async def test_a_2025_session_initializes_and_calls_a_tool(http: httpx2.AsyncClient) -> None:
    params = {"protocolVersion": methods.LATEST_HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "t"}}
    init = await http.post(URL, content=rpc(1, methods.INITIALIZE, params), headers=ACCEPT)
    assert init.status_code == 200
    session_id = init.headers["mcp-session-id"]
    headers = {**ACCEPT, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": methods.LATEST_HANDSHAKE}
    note = messages.dumps(messages.notification(methods.INITIALIZED))
    assert (await http.post(URL, content=note, headers=headers)).status_code == 202
    call = rpc(2, methods.TOOLS_CALL, {"name": "alpha__say", "arguments": {"say": "hi"}})
    reply = await http.post(URL, content=call, headers=headers)
    assert reply.status_code == 200
    body = reply.json()
    assert body["id"] == 2
    assert body["result"]["content"] == [{"type": "text", "text": "echo:hi"}]
    other = await http.post(URL, content=call, headers={**headers, "Mcp-Session-Id": "not-a-session"})
    assert other.status_code == 404


async def test_a_stateless_2026_request_is_answered_with_the_modern_shape(http: httpx2.AsyncClient) -> None:
    params = Client.modern({"name": "alpha__say", "arguments": {"say": "yo"}})
    headers = {
        **ACCEPT,
        "MCP-Protocol-Version": methods.LATEST_MODERN,
        "Mcp-Method": methods.TOOLS_CALL,
        "Mcp-Name": "alpha__say",
    }
    reply = await http.post(URL, content=rpc(9, methods.TOOLS_CALL, params), headers=headers)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["result"]["resultType"] == "complete"
    assert body["result"]["content"] == [{"type": "text", "text": "echo:yo"}]


async def test_a_foreign_origin_and_a_bad_body_are_refused(http: httpx2.AsyncClient) -> None:
    params = {"protocolVersion": methods.LATEST_HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "t"}}
    body = rpc(1, methods.INITIALIZE, params)
    foreign = await http.post(URL, content=body, headers={**ACCEPT, "Origin": "https://evil.example"})
    assert foreign.status_code == 403
    garbage = await http.post(URL, content=b"{not json", headers=ACCEPT)
    assert garbage.status_code == 400
    assert garbage.json()["error"]["code"] == methods.PARSE_ERROR
