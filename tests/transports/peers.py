"""A raw JSON-RPC driver for transport tests, and the constants they share."""

from __future__ import annotations

import asyncio
from typing import Any

from ostiary import messages
from ostiary.messages import Message
from ostiary.transports.base import Transport

MAX_MESSAGE = 4 * 1024 * 1024
MODERN = "2026-07-28"
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "ostiary-tests", "version": "0"},
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

    async def request(
        self, method: str, params: dict[str, Any] | None = None, within: float = 10.0
    ) -> Message:
        request_id = self.new_id()
        await self.transport.send(messages.request(request_id, method, params))
        return await self.until_response(request_id, within)

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
