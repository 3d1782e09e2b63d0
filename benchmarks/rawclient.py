"""A minimal MCP client written for measuring: JSON-RPC over a pipe or over HTTP, nothing more.

The official SDK client costs about a millisecond of CPU per call in validation and task hops;
that cost lands on both sides of a direct-versus-gateway comparison and blurs the difference. This
client spends microseconds, so what it measures is mostly the server and whatever stands between.
It speaks either era: `legacy` (the 2025-11-25 `initialize` handshake, sessions on HTTP) or
`modern` (2026-07-28: no handshake, `_meta` on every request, `Mcp-Method`/`Mcp-Name` headers).
Each call checks that the answer is the text it sent, so a mixed-up reply counts as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any, Literal

import httpx2
import orjson

Era = Literal["legacy", "modern"]
LEGACY_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"
_CLIENT_INFO = {"name": "ostiary-bench", "version": "1"}
_MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": _CLIENT_INFO,
}
_PIPE_LIMIT = 16 * 1024 * 1024


class CallFailed(Exception):
    """The peer answered with a JSON-RPC error, an HTTP error, garbage, or not at all."""


def _result(message: dict[str, Any]) -> dict[str, Any]:
    if "error" in message:
        raise CallFailed(f"JSON-RPC error {orjson.dumps(message['error']).decode()[:300]}")
    result = message.get("result")
    if not isinstance(result, dict):
        raise CallFailed(f"no result object in {orjson.dumps(message).decode()[:300]}")
    return result


def _echoed_text(result: dict[str, Any]) -> str:
    if result.get("isError"):
        raise CallFailed(f"tool error {orjson.dumps(result).decode()[:300]}")
    content = result.get("content") or [{}]
    text = content[0].get("text")
    if not isinstance(text, str):
        raise CallFailed(f"no text content in {orjson.dumps(result).decode()[:300]}")
    return text


class _Requests:
    """Message building shared by both transports: ids, era `_meta`, the handshake."""

    def __init__(self, era: Era) -> None:
        self.era = era
        self._ids = itertools.count(1)

    def build(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.era == "modern":
            params = {**params, "_meta": _MODERN_META}
        return {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}

    def opening(self) -> dict[str, Any]:
        """The first request: `initialize` on the handshake era, `server/discover` on the modern one."""
        if self.era == "modern":
            return self.build("server/discover", {})
        params = {"protocolVersion": LEGACY_VERSION, "capabilities": {}, "clientInfo": _CLIENT_INFO}
        return self.build("initialize", params)

    def echo(self, text: str) -> dict[str, Any]:
        return self.build("tools/call", {"name": "echo", "arguments": {"text": text}})


INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


class RawStdio:
    """One server process (or one `ostiary run`) on a pipe, one request in flight at a time."""

    def __init__(self, process: asyncio.subprocess.Process, era: Era) -> None:
        self.process = process
        self._requests = _Requests(era)

    @classmethod
    async def spawn(
        cls, argv: list[str], era: Era, stderr: int | None = asyncio.subprocess.DEVNULL
    ) -> RawStdio:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            limit=_PIPE_LIMIT,
        )
        return cls(process, era)

    async def _send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(orjson.dumps(message) + b"\n")
        await self.process.stdin.drain()

    async def _exchange(self, message: dict[str, Any]) -> dict[str, Any]:
        await self._send(message)
        assert self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                raise CallFailed(f"the process closed its output (exit code {self.process.returncode})")
            try:
                reply = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise CallFailed(f"not JSON on stdout: {line[:200]!r}") from exc
            if not isinstance(reply, dict):
                raise CallFailed(f"not a JSON-RPC object: {line[:200]!r}")
            if "method" in reply and "id" in reply:
                await self._answer_server_request(reply)
            elif reply.get("id") == message["id"] and "method" not in reply:
                return reply

    async def _answer_server_request(self, request: dict[str, Any]) -> None:
        if request["method"] == "ping":
            await self._send({"jsonrpc": "2.0", "id": request["id"], "result": {}})
        else:
            error = {"code": -32601, "message": "the benchmark client offers no capabilities"}
            await self._send({"jsonrpc": "2.0", "id": request["id"], "error": error})

    async def open(self) -> dict[str, Any]:
        result = _result(await self._exchange(self._requests.opening()))
        if self._requests.era == "legacy":
            await self._send(INITIALIZED)
        return result

    async def echo(self, text: str) -> str:
        return _echoed_text(_result(await self._exchange(self._requests.echo(text))))

    async def aclose(self) -> None:
        """Close stdin, the polite way to stop an MCP stdio server; escalate if it lingers."""
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 3)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


class RawHttp:
    """One Streamable HTTP client with its own connection (and, on the legacy era, its own session)."""

    def __init__(self, url: str, era: Era) -> None:
        self.url = url
        self._requests = _Requests(era)
        self._http = httpx2.AsyncClient(timeout=30.0, limits=httpx2.Limits(max_connections=1))
        self._session: dict[str, str] = {}

    def _headers(self, message: dict[str, Any]) -> dict[str, str]:
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        headers.update(self._session)
        if self._requests.era == "modern":
            headers["MCP-Protocol-Version"] = MODERN_VERSION
            if "method" in message:
                headers["Mcp-Method"] = message["method"]
                name = message.get("params", {}).get("name")
                if isinstance(name, str):
                    headers["Mcp-Name"] = name
        return headers

    async def _post(self, message: dict[str, Any]) -> httpx2.Response:
        response = await self._http.post(
            self.url, content=orjson.dumps(message), headers=self._headers(message)
        )
        if response.status_code >= 300:
            raise CallFailed(f"HTTP {response.status_code}: {response.text[:300]}")
        return response

    @staticmethod
    def _reply(response: httpx2.Response, request_id: object) -> dict[str, Any]:
        """The answer to `request_id`, from a JSON body or from an event stream."""
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            for line in response.text.splitlines():
                if line.startswith("data:"):
                    reply = orjson.loads(line[5:])
                    if isinstance(reply, dict) and reply.get("id") == request_id and "method" not in reply:
                        return reply
            raise CallFailed(f"no answer in the event stream: {response.text[:300]!r}")
        reply = orjson.loads(response.content)
        if not isinstance(reply, dict):
            raise CallFailed(f"not a JSON-RPC object: {response.text[:300]!r}")
        return reply

    async def _exchange(self, message: dict[str, Any]) -> dict[str, Any]:
        return self._reply(await self._post(message), message["id"])

    async def open(self) -> dict[str, Any]:
        opening = self._requests.opening()
        response = await self._post(opening)
        result = _result(self._reply(response, opening["id"]))
        if self._requests.era == "legacy":
            session = response.headers.get("mcp-session-id")
            if session:
                self._session["Mcp-Session-Id"] = session
            self._session["MCP-Protocol-Version"] = LEGACY_VERSION
            await self._post(INITIALIZED)
        return result

    async def echo(self, text: str) -> str:
        return _echoed_text(_result(await self._exchange(self._requests.echo(text))))

    async def aclose(self) -> None:
        if "Mcp-Session-Id" in self._session:
            with contextlib.suppress(httpx2.HTTPError):
                await self._http.delete(self.url, headers=self._session)
        await self._http.aclose()
