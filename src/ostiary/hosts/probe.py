"""Connect to one server the way a host would and fetch what it offers the model.

Used by `ostiary scan --connect` and `ostiary doctor`: a stdio server starts in its own process
group (and is ended with it), every step has a deadline, and nothing the server says is acted
on beyond the handshake and `tools/list`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ostiary import __version__, messages, methods, secretref
from ostiary.config import ServerConfig
from ostiary.messages import Kind, Message
from ostiary.transports.base import Transport, TransportClosed

MAX_PAGES = 20
LIMIT = 16 * 1024 * 1024


@dataclass
class Offered:
    """What a server said about itself: its info, instructions and tool definitions."""

    server_info: dict[str, Any] = field(default_factory=dict)
    instructions: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)


class ProbeFailed(Exception):
    """The server could not be started, reached or asked in time; the message says which."""


def transport_for(name: str, server: ServerConfig, base_dir: str) -> Transport:
    """A transport to the server with its secret references resolved; a relative `cwd` or
    command path is taken from `base_dir`, as the gateway does. Raises ProbeFailed."""
    try:
        env = {k: secretref.resolve(v) for k, v in server.env.items()}
        headers = {k: secretref.resolve(v) for k, v in server.headers.items()}
        if server.kind == "stdio":
            from ostiary.transports.stdio import ProcessTransport  # noqa: PLC0415

            assert server.command is not None
            args = [secretref.resolve(a) for a in server.args]
            cwd = str(Path(base_dir, server.cwd).expanduser()) if server.cwd else None
            return ProcessTransport(
                name, secretref.resolve(server.command), args, env, cwd, LIMIT, cwd or base_dir
            )
        assert server.url is not None
        url = secretref.resolve(server.url)
        if server.kind == "sse":
            from ostiary.transports.sse_client import SseTransport  # noqa: PLC0415

            return SseTransport(url, headers, server.timeout, LIMIT)
        from ostiary.transports.http_client import StreamableHttpTransport  # noqa: PLC0415

        return StreamableHttpTransport(url, headers, server.timeout, LIMIT)
    except secretref.SecretError as exc:
        raise ProbeFailed(str(exc)) from None


async def _answer(transport: Transport, request_id: int) -> Message:
    """The response to `request_id`; server requests are refused, notifications ignored."""
    while True:
        message = await transport.receive()
        if message.kind is Kind.REQUEST and message.id is not None:
            await transport.send(messages.error(message.id, methods.METHOD_NOT_FOUND, "Not supported"))
            continue
        if message.kind in (Kind.RESULT, Kind.ERROR) and message.id == request_id:
            return message


async def _ask(transport: Transport, request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
    await transport.send(messages.request(request_id, method, params))
    response = await _answer(transport, request_id)
    if response.kind is not Kind.RESULT:
        text = response.error.get("message")
        raise ProbeFailed(f"{method} answered error {response.error.get('code')}: {text}")
    return response.result


async def fetch(transport: Transport, seconds: float) -> Offered:
    """Handshake and list the tools within `seconds`; the transport is closed after."""
    try:
        async with asyncio.timeout(seconds):
            await transport.start()
            hello = {
                "protocolVersion": methods.LATEST_HANDSHAKE,
                "capabilities": {},
                "clientInfo": {"name": "ostiary-scan", "version": __version__},
            }
            result = await _ask(transport, 1, methods.INITIALIZE, hello)
            await transport.send(messages.notification(methods.INITIALIZED))
            info: Any = result.get("serverInfo")
            text = result.get("instructions")
            offered = Offered(
                server_info=info if isinstance(info, dict) else {},
                instructions=text if isinstance(text, str) else None,
            )
            capabilities = result.get("capabilities")
            if isinstance(capabilities, dict) and "tools" in capabilities:
                cursor: str | None = None
                for page in range(MAX_PAGES):
                    params = {"cursor": cursor} if cursor else {}
                    listed = await _ask(transport, 2 + page, methods.TOOLS_LIST, params)
                    tools = listed.get("tools")
                    offered.tools += [
                        t for t in (tools if isinstance(tools, list) else []) if isinstance(t, dict)
                    ]
                    nxt = listed.get("nextCursor")
                    if not isinstance(nxt, str) or not nxt:
                        break
                    cursor = nxt
            return offered
    except TimeoutError:
        raise ProbeFailed(f"no answer within {seconds:g}s") from None
    except TransportClosed as exc:
        raise ProbeFailed(exc.reason) from None
    finally:
        await transport.close()
