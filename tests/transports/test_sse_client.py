"""The legacy HTTP+SSE transport against server-everything in `sse` mode, and against scripted
peers that misbehave on purpose."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from ostiary import messages, methods
from ostiary.messages import Kind
from ostiary.transports.base import TransportClosed
from ostiary.transports.sse_client import SseTransport
from transports.conftest import Server
from transports.peers import (
    LAST_CHUNK,
    MAX_MESSAGE,
    Driver,
    chunk,
    long_running,
    scripted_server,
    sse_head,
    tool_text,
)

pytestmark = pytest.mark.e2e


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[Driver]:
    transport = SseTransport(url, {}, timeout=10.0, max_message_bytes=MAX_MESSAGE)
    await transport.start()
    try:
        yield Driver(transport)
    finally:
        await transport.close()


async def test_the_endpoint_event_names_where_messages_are_posted(everything_sse: Server) -> None:
    async with connected(everything_sse.url) as driver:
        assert isinstance(driver.transport, SseTransport)
        endpoint = driver.transport.endpoint
        assert endpoint is not None
        assert endpoint.startswith(f"http://127.0.0.1:{everything_sse.port}/message?sessionId=")
        reply = await driver.handshake(version="2024-11-05")
        assert reply.result["protocolVersion"] == "2024-11-05"
        tools = await driver.request(methods.TOOLS_LIST)
        assert "echo" in {tool["name"] for tool in tools.result["tools"]}


async def test_calls_progress_and_unicode_round_trip(everything_sse: Server) -> None:
    async with connected(everything_sse.url) as driver:
        await driver.handshake(version="2024-11-05")
        reply = await driver.request(methods.TOOLS_CALL, {"name": "echo", "arguments": {"message": "ünï ✓"}})
        assert tool_text(reply) == "Echo: ünï ✓"
        params = long_running(0.4, 2, "t")
        await driver.request(methods.TOOLS_CALL, params)
        progress = [m for m in driver.other if m.method == methods.PROGRESS]
        assert [m.params["progress"] for m in progress] == [1, 2]


async def test_a_sampling_request_is_answered_through_the_post_endpoint(everything_sse: Server) -> None:
    async with connected(everything_sse.url) as driver:
        await driver.handshake({"sampling": {}}, version="2024-11-05")
        sampling, reply = await driver.sampled_call("sampled")
        assert sampling.kind is Kind.REQUEST
        assert "sampled" in tool_text(reply)


async def test_a_dropped_event_stream_closes_the_transport(start_everything: Callable[[str], Server]) -> None:
    server = start_everything("sse")
    async with connected(server.url) as driver:
        await driver.handshake(version="2024-11-05")
        server.stop()
        assert (await driver.until_closed()).startswith("upstream event stream")
        with pytest.raises(TransportClosed):
            await driver.transport.send(messages.request(5, methods.TOOLS_LIST))


@pytest.mark.parametrize(
    ("stream", "start_timeout", "reason"),
    [
        (b"event: endpoint\ndata: http://127.0.0.2:9/message\n\n", 5.0, "another origin"),
        (b": a comment, and never an endpoint\n\n", 0.5, "no endpoint"),
        (b"event: message\ndata: {}\n\n", 0.5, "no endpoint"),
    ],
    ids=["endpoint-on-another-origin", "no-endpoint", "message-before-endpoint"],
)
async def test_start_fails_unless_the_server_names_a_same_origin_endpoint(
    stream: bytes, start_timeout: float, reason: str
) -> None:
    async def respond(head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(sse_head() + chunk(stream))
        await asyncio.sleep(30)

    async with scripted_server(respond) as port:
        url = f"http://127.0.0.1:{port}/sse"
        transport = SseTransport(url, {}, timeout=start_timeout, max_message_bytes=MAX_MESSAGE)
        with pytest.raises(TransportClosed, match=reason):
            await transport.start()


async def test_garbage_events_are_skipped_and_a_post_failure_answers_the_request() -> None:
    async def respond(head: bytes, writer: asyncio.StreamWriter) -> None:
        if head.startswith(b"GET"):
            writer.write(sse_head() + chunk(b"event: endpoint\ndata: /message\n\n"))
            writer.write(chunk(b"data: {not json\n\n"))
            writer.write(chunk(b'data: {"jsonrpc": "1.0", "id": 1}\n\n'))
            writer.write(chunk(b'data: {"jsonrpc":"2.0","method":"notifications/message","params":{}}\n\n'))
            await writer.drain()
            await asyncio.sleep(30)
        else:
            writer.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 6\r\n\r\nsecret")

    async with scripted_server(respond) as port, connected(f"http://127.0.0.1:{port}/sse") as driver:
        first = await driver.receive()
        assert first.method == methods.MESSAGE
        await driver.transport.send(messages.request(3, methods.TOOLS_LIST))
        reply = await driver.receive()
        assert reply.id == 3
        assert reply.error == {"code": methods.UPSTREAM_UNAVAILABLE, "message": "upstream HTTP 500"}


async def test_an_event_stream_that_ends_right_away_fails_start() -> None:
    async def respond(head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(sse_head() + LAST_CHUNK)

    async with scripted_server(respond) as port:
        transport = SseTransport(
            f"http://127.0.0.1:{port}/sse", {}, timeout=5.0, max_message_bytes=MAX_MESSAGE
        )
        with pytest.raises(TransportClosed, match="ended"):
            await transport.start()
