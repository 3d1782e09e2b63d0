"""Reference relays: what one more process on the message path costs before any inspection.

`bench_gateway.py --relay MODE` puts one of these where `ostiary` would be, with the same command
line (`run --config F`, `serve --config F --host H --port N`) and the same echo server, so its
table shows the floor under any gateway built this way on this machine:

- `socat` (stdio only): a relay written in C that copies bytes between the host and the server.
- `bytes`: Python on uvloop, as `ostiary run` / `ostiary serve` are, moving whole messages without
  reading them: newline-framed on stdio; on HTTP each request and its response (JSON or an SSE
  stream) relayed by a bare ASGI app under uvicorn with Ostiary's own keep-alive upstream transport.
- `parse`: `bytes`, plus decoding and re-encoding every message with the JSON library the gateway
  uses (orjson): the least any process that inspects a message must do.

None of them checks, records or answers anything: they exist to be measured, not used.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import uvloop
import yaml

Message = Callable[[bytes], bytes]


def _same(data: bytes) -> bytes:
    return data


def _reencoded(data: bytes) -> bytes:
    return orjson.dumps(orjson.loads(data))


def echo_server(config: Path) -> dict[str, Any]:
    """The bench config's one server entry (`servers.echo`)."""
    entry = yaml.safe_load(config.read_text())["servers"]["echo"]
    assert isinstance(entry, dict)
    return entry


# ---------------------------------------------------------------------------------------- stdio


class _Lines(asyncio.Protocol):
    """Whole newline-terminated messages from a pipe, each handed to `send` after `convert`."""

    def __init__(
        self, send: Callable[[bytes], object], convert: Message, closed: asyncio.Future[None]
    ) -> None:
        self.send, self.convert, self.closed = send, convert, closed
        self.partial = b""

    def data_received(self, data: bytes) -> None:
        *lines, self.partial = (self.partial + data).split(b"\n")
        for line in lines:
            if line:
                self.send(self.convert(line) + b"\n")

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def relay_stdio(argv: list[str], convert: Message) -> None:
    loop = asyncio.get_running_loop()
    closed: asyncio.Future[None] = loop.create_future()
    # Plain pipes, read and written by protocols as the gateway's own transports do.
    server = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # noqa: ASYNC220
    assert server.stdin is not None and server.stdout is not None
    to_server, _ = await loop.connect_write_pipe(asyncio.Protocol, server.stdin)
    to_host, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(1, "wb", buffering=0))
    await loop.connect_read_pipe(lambda: _Lines(to_host.write, convert, loop.create_future()), server.stdout)
    await loop.connect_read_pipe(
        lambda: _Lines(to_server.write, convert, closed), os.fdopen(0, "rb", buffering=0)
    )
    await closed
    to_server.close()
    try:
        await asyncio.to_thread(server.wait, 2)
    except subprocess.TimeoutExpired:
        server.kill()


# ----------------------------------------------------------------------------------------- HTTP

EVENT_END = re.compile(rb"\r?\n\r?\n")
HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"host"}


def _sse_event(event: bytes, convert: Message) -> bytes:
    """One SSE event with its `data:` line (the echo server sends one per event) re-encoded."""
    lines = event.split(b"\r\n" if b"\r\n" in event else b"\n")
    return b"\r\n".join(
        b"data: " + convert(line[6:]) if line.startswith(b"data: ") and len(line) > 6 else line
        for line in lines
    )


def http_app(url: str, convert: Message) -> Callable[..., Awaitable[None]]:
    from ostiary.transports.http11 import UpstreamHttp, body_chunks  # noqa: PLC0415

    upstream = UpstreamHttp(url, timeout=30.0)

    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        if body:
            body = convert(body)
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name not in HOP_BY_HOP
        }
        async with upstream.stream(scope["method"], headers, body or None) as response:
            back = [
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in response.headers.items()
                if name.encode("latin-1") not in HOP_BY_HOP
            ]
            await send({"type": "http.response.start", "status": response.status_code, "headers": back})
            sse = response.headers.get("content-type", "").startswith("text/event-stream")
            if convert is _same:
                async for chunk in body_chunks(response):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            elif sse:
                pending = b""
                async for chunk in body_chunks(response):
                    *events, pending = EVENT_END.split(pending + chunk)
                    if events:
                        out = b"".join(_sse_event(event, convert) + b"\r\n\r\n" for event in events)
                        await send({"type": "http.response.body", "body": out, "more_body": True})
            else:
                whole = b"".join([chunk async for chunk in body_chunks(response)])
                out = convert(whole) if whole else whole
                await send({"type": "http.response.body", "body": out, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


def serve_http(url: str, host: str, port: int, convert: Message) -> None:
    import uvicorn  # noqa: PLC0415

    config = uvicorn.Config(
        http_app(url, convert),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    uvicorn.Server(config).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["socat", "bytes", "parse"], required=True)
    parser.add_argument("command", choices=["run", "serve"])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    entry = echo_server(args.config)
    convert = _reencoded if args.mode == "parse" else _same
    if args.command == "run":
        argv = [entry["command"], *entry.get("args", [])]
        if args.mode == "socat":
            socat = shutil.which("socat")
            if socat is None:
                sys.exit("reference_relay: socat is not installed")
            os.execv(socat, [socat, "-b", "1048576", "STDIO", "EXEC:" + " ".join(argv)])
        uvloop.run(relay_stdio(argv, convert))
        return
    if args.mode == "socat":
        sys.exit("reference_relay: socat relays stdio only")
    serve_http(entry["url"], args.host, args.port, convert)


if __name__ == "__main__":
    main()
