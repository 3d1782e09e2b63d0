"""The official MCP SDK client, wrapped so the benchmark can hold many open at once.

The SDK client is an anyio context manager whose scopes must be exited by the task that entered
them, so each client lives in a task of its own that opens it, reports ready, and waits for the
signal to close. Clients can then be opened in parallel (sixteen stdio servers starting one after
another would dominate the run) and called from any task.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal, TextIO

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from rawclient import CallFailed

Mode = Literal["auto", "legacy"]


class SdkClient:
    def __init__(self) -> None:
        self._client: Client | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.protocol_version = ""

    @classmethod
    async def connect_stdio(cls, command: str, args: list[str], mode: Mode, errlog: TextIO) -> SdkClient:
        params = StdioServerParameters(command=command, args=args)
        return await cls._connect(Client(stdio_client(params, errlog=errlog), mode=mode))

    @classmethod
    async def connect_http(cls, url: str, mode: Mode) -> SdkClient:
        return await cls._connect(Client(url, mode=mode))

    @classmethod
    async def _connect(cls, client: Client) -> SdkClient:
        self = cls()
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._hold(client, ready))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({self._task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.is_set():
            waiter.cancel()
            await self._task  # re-raises why the client could not open
            raise CallFailed("the SDK client closed before it was ready")
        return self

    async def _hold(self, client: Client, ready: asyncio.Event) -> None:
        async with client:
            self._client = client
            self.protocol_version = client.protocol_version
            ready.set()
            await self._stop.wait()

    async def echo(self, text: str) -> str:
        assert self._client is not None
        result = await self._client.call_tool("echo", {"text": text})
        if result.is_error or not result.content:
            raise CallFailed(f"tool error: {result.model_dump_json()[:300]}")
        block = result.content[0]
        text_out = getattr(block, "text", None)
        if not isinstance(text_out, str):
            raise CallFailed(f"no text content: {result.model_dump_json()[:300]}")
        return text_out

    async def aclose(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._task, 10)
