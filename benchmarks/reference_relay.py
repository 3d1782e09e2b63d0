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
- `callbacks` (stdio only): `parse` with requests and answers correlated as a gateway must: each
  request goes on under the relay's own id and a task waits for its answer on a future, but lines
  are handled in the pipes' protocol callbacks, without streams or reader tasks.
- `audited` (stdio only): `callbacks`, plus the least an audit trail of each call can cost: for the
  request and for its answer, a record of who, what and when with a SHA-256 digest of the arguments
  or result, serialised with sorted keys, MAC-chained and appended to a file with one write(2)
  before the message moves on. No redaction, no inspection, no database.
- `tasks` (stdio only): `parse`, built as `ostiary run` is: lines read through asyncio's streams by
  a reader task per side, a task per client request, its own id toward the server and a future
  for the answer, writes through `StreamWriter` and `drain()`. What that shape costs over `parse`
  is the price of the structure alone, before any of the gateway's own work.

None of them checks, records or answers anything: they exist to be measured, not used.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import orjson
import uvloop
import yaml

Message = Callable[[bytes], bytes]
MODES = ("socat", "bytes", "parse", "tasks", "callbacks", "audited")


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


async def _finish(
    closed: asyncio.Future[None], to_server: asyncio.BaseTransport, server: subprocess.Popen[bytes]
) -> None:
    """At the host's end of input: close the server's stdin and give it two seconds to exit."""
    await closed
    to_server.close()
    try:
        await asyncio.to_thread(server.wait, 2)
    except subprocess.TimeoutExpired:
        server.kill()


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
    await _finish(closed, to_server, server)


class _Calls:
    """Client requests in flight under the relay's own ids: a task each, waiting on a future."""

    def __init__(self) -> None:
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.ids = itertools.count(1)
        self.tasks: set[asyncio.Task[None]] = set()

    def start(
        self, message: dict[str, Any], call: Callable[[dict[str, Any]], Coroutine[Any, Any, None]]
    ) -> bool:
        """Run `call` for a request in a task of its own; False for anything else."""
        if "method" not in message or "id" not in message:
            return False
        task = asyncio.get_running_loop().create_task(call(message))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return True

    def answered(self, message: dict[str, Any]) -> bool:
        """Hand an answer to the call waiting for it; False if none is."""
        own = message.get("id")
        answer = self.waiting.get(own) if isinstance(own, int) and "method" not in message else None
        if answer is None or answer.done():
            return False
        answer.set_result(message)
        return True


async def relay_stdio_tasks(argv: list[str], limit: int = 1 << 24) -> None:
    """`parse` in Ostiary's shape: streams, a task per request, a future per answer."""
    loop = asyncio.get_running_loop()
    server = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=limit
    )
    assert server.stdin is not None and server.stdout is not None
    to_server, from_server = server.stdin, server.stdout
    host_in = asyncio.StreamReader(limit=limit)
    stdin = os.fdopen(0, "rb", buffering=0)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(host_in), stdin)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(1, "wb", buffering=0)
    )
    to_host = asyncio.StreamWriter(transport, protocol, host_in, loop)
    calls = _Calls()

    async def send(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
        writer.write(orjson.dumps(message) + b"\n")
        await writer.drain()

    async def call(message: dict[str, Any]) -> None:
        own = next(calls.ids)
        calls.waiting[own] = answer = loop.create_future()
        try:
            await send(to_server, {**message, "id": own})
            response = await answer
        finally:
            calls.waiting.pop(own, None)
        await send(to_host, {**response, "id": message["id"]})

    async def from_server_loop() -> None:
        while line := await from_server.readline():
            message = orjson.loads(line)
            if not calls.answered(message) and ("id" not in message or "method" in message):
                await send(to_host, message)

    reading = asyncio.create_task(from_server_loop())
    while line := await host_in.readline():
        if line.strip():
            message = orjson.loads(line)
            if not calls.start(message, call):
                await send(to_server, message)
    to_server.close()
    reading.cancel()
    try:
        await asyncio.wait_for(server.wait(), 2)
    except TimeoutError:
        server.kill()


def _journal() -> Callable[[dict[str, Any]], None]:
    """Appends one MAC-chained, sorted-key JSON line per record to a scratch file, one write each."""
    fd, path = tempfile.mkstemp(prefix="relay-audit-", suffix=".jsonl")
    os.unlink(path)
    inner, outer = hashlib.sha256(b"6" * 64), hashlib.sha256(b"\\" * 64)
    state = {"tag": b"0" * 64}

    def append(record: dict[str, Any]) -> None:
        line = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
        mac = inner.copy()
        mac.update(state["tag"] + line)
        tag = outer.copy()
        tag.update(mac.digest())
        state["tag"] = tag.hexdigest().encode()
        os.write(fd, state["tag"] + b" " + line + b"\n")

    return append


def _record(hook: str, message: dict[str, Any], payload: Any, call: int) -> dict[str, Any]:
    return {
        "v": 1, "ts_us": time.time_ns() // 1000, "hook": hook, "method": message.get("method"),
        "session": "relay", "exchange": call, "principal": "local", "server": "echo",
        "action": "allow", "code": "allow", "request_id": str(message.get("id")),
        "digest": hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest(),
    }  # fmt: skip


async def relay_stdio_callbacks(argv: list[str], audited: bool = False) -> None:
    """`tasks`, but lines are handled in the pipes' protocol callbacks: no reader tasks or streams."""
    loop = asyncio.get_running_loop()
    journal = _journal() if audited else None
    closed: asyncio.Future[None] = loop.create_future()
    server = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # noqa: ASYNC220
    assert server.stdin is not None and server.stdout is not None
    to_server, _ = await loop.connect_write_pipe(asyncio.Protocol, server.stdin)
    to_host, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(1, "wb", buffering=0))
    calls = _Calls()

    async def call(message: dict[str, Any]) -> None:
        own = next(calls.ids)
        calls.waiting[own] = answer = loop.create_future()
        if journal is not None:
            journal(_record("request", message, message.get("params"), own))
        try:
            to_server.write(orjson.dumps({**message, "id": own}) + b"\n")
            response = await answer
        finally:
            calls.waiting.pop(own, None)
        if journal is not None:
            journal(_record("response", message, response.get("result", response.get("error")), own))
        to_host.write(orjson.dumps({**response, "id": message["id"]}) + b"\n")

    def from_host(line: bytes) -> None:
        message = orjson.loads(line)
        if not calls.start(message, call):
            to_server.write(orjson.dumps(message) + b"\n")

    def from_server(line: bytes) -> None:
        message = orjson.loads(line)
        if not calls.answered(message) and ("id" not in message or "method" in message):
            to_host.write(orjson.dumps(message) + b"\n")

    await loop.connect_read_pipe(lambda: _Handled(from_server, loop.create_future()), server.stdout)
    await loop.connect_read_pipe(lambda: _Handled(from_host, closed), os.fdopen(0, "rb", buffering=0))
    await _finish(closed, to_server, server)


class _Handled(_Lines):
    """Whole lines from a pipe, each handed to `handle`."""

    def __init__(self, handle: Callable[[bytes], None], closed: asyncio.Future[None]) -> None:
        super().__init__(lambda _: None, _same, closed)
        self.handle = handle

    def data_received(self, data: bytes) -> None:
        *lines, self.partial = (self.partial + data).split(b"\n")
        for line in lines:
            if line.strip():
                self.handle(line)


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
    parser.add_argument("--mode", choices=MODES, required=True)
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
        if args.mode == "tasks":
            uvloop.run(relay_stdio_tasks(argv))
            return
        if args.mode in ("callbacks", "audited"):
            uvloop.run(relay_stdio_callbacks(argv, audited=args.mode == "audited"))
            return
        uvloop.run(relay_stdio(argv, convert))
        return
    if args.mode in ("socat", "tasks", "callbacks", "audited"):
        sys.exit(f"reference_relay: {args.mode} relays stdio only")
    serve_http(entry["url"], args.host, args.port, convert)


if __name__ == "__main__":
    main()
