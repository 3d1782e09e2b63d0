"""A raw JSON-RPC driver for transport tests, and the constants they share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from ostiary import messages
from ostiary.messages import Message
from ostiary.transports.base import Transport, TransportClosed

MAX_MESSAGE = 4 * 1024 * 1024
MODERN = "2026-07-28"
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "ostiary-tests", "version": "0"},
}


def long_running(duration: float, steps: int, token: str | int) -> dict[str, Any]:
    """tools/call params for server-everything's progress-reporting tool."""
    return {
        "name": "trigger-long-running-operation",
        "arguments": {"duration": duration, "steps": steps},
        "_meta": {"progressToken": token},
    }


class Driver:
    """Raw JSON-RPC over a transport: what a connection does, without any of its logic."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.next_id = 1
        self.other: list[Message] = []

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    async def receive(self, within: float = 10.0) -> Message:
        return await asyncio.wait_for(self.transport.receive(), within)

    async def until_response(self, request_id: messages.RequestId, within: float = 10.0) -> Message:
        """Reads until the response to `request_id`; everything else is kept in `other`."""
        while True:
            message = await self.receive(within)
            if message.is_response and message.id == request_id:
                return message
            self.other.append(message)

    async def until_closed(self, within: float = 10.0) -> str:
        """Reads until the transport reports it is closed; returns the reason."""
        while True:
            try:
                self.other.append(await self.receive(within))
            except TransportClosed as exc:
                return exc.reason

    async def request(
        self, method: str, params: dict[str, Any] | None = None, within: float = 10.0
    ) -> Message:
        request_id = self.new_id()
        await self.transport.send(messages.request(request_id, method, params))
        return await self.until_response(request_id, within)

    async def sampled_call(self, answer_text: str) -> tuple[Message, Message]:
        """Calls server-everything's sampling tool and answers its sampling request with
        `answer_text`; returns that request and the tool's final response."""
        call_id = self.new_id()
        params = {"name": "trigger-sampling-request", "arguments": {"prompt": "say hi", "maxTokens": 5}}
        await self.transport.send(messages.request(call_id, "tools/call", params))
        sampling = await self.receive()
        while sampling.method != "sampling/createMessage":
            sampling = await self.receive()
        assert sampling.id is not None
        answer = {"role": "assistant", "content": {"type": "text", "text": answer_text}, "model": "m"}
        await self.transport.send(messages.result(sampling.id, answer))
        return sampling, await self.until_response(call_id)

    async def handshake(
        self, capabilities: dict[str, Any] | None = None, version: str = "2025-11-25"
    ) -> Message:
        reply = await self.request(
            "initialize",
            {
                "protocolVersion": version,
                "capabilities": capabilities or {},
                "clientInfo": {"name": "ostiary-tests", "version": "0"},
            },
        )
        assert reply.kind is messages.Kind.RESULT, reply.raw
        await self.transport.send(messages.notification("notifications/initialized"))
        return reply


def tool_text(reply: Message) -> str:
    assert reply.kind is messages.Kind.RESULT, reply.raw
    return "".join(block.get("text", "") for block in reply.result["content"])


Responder = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def scripted_server(respond: Responder) -> AsyncIterator[int]:
    """A loopback HTTP/1.1 peer that misbehaves on purpose: `respond` gets each request (head and
    body) and writes whatever raw bytes the test wants. Yields its port."""

    handlers: set[asyncio.Task[Any]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            handlers.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                await respond(head + body, writer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


def sse_head(status: int = 200) -> bytes:
    return (
        f"HTTP/1.1 {status} OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        "transfer-encoding: chunked\r\n\r\n"
    ).encode()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


LAST_CHUNK = b"0\r\n\r\n"


def json_response(body: bytes, status: str = "200 OK", extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}content-length: {len(body)}\r\n\r\n"
    ).encode() + body


ACCEPTED = b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n"
