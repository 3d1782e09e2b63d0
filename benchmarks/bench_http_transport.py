"""What Ostiary's Streamable HTTP transport toward servers costs over a bare HTTP client.

    .venv/bin/python benchmarks/bench_http_transport.py [--calls 2000] [--clients 1,4,16]

Starts the benchmark echo server (official Python SDK) on Streamable HTTP, opens one 2025-11-25
session, and issues tools/call echo at each concurrency level twice, alternating: once through
`StreamableHttpTransport` (send + receive, SSE parsing, correlation) and once as bare httpx2 POSTs
that only read the body. Reports p50/p95/p99, calls/s and this process's CPU per call, so the
transport's own share of a gateway's HTTP upstream cost is visible. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from ostiary import messages
from ostiary.messages import Message
from ostiary.transports.http_client import StreamableHttpTransport

ECHO_SERVER = Path(__file__).resolve().parent / "echo_server.py"
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, str(ECHO_SERVER), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("echo server did not start")


class Correlator:
    """Routes the transport's messages to waiting calls, as a server connection would."""

    def __init__(self, transport: StreamableHttpTransport) -> None:
        self.transport = transport
        self.waiting: dict[int, asyncio.Future[Message]] = {}
        self.next_id = 1000
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            message = await self.transport.receive()
            future = self.waiting.pop(message.id, None) if isinstance(message.id, int) else None
            if future is not None and message.is_response:
                future.set_result(message)

    async def call(self, method: str, params: dict[str, object]) -> Message:
        self.next_id += 1
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = future
        await self.transport.send(messages.request(self.next_id, method, params))
        return await future


async def run_level(clients: int, calls: int, one_call: object) -> tuple[list[float], float, float]:
    latencies: list[float] = []
    per_client = max(1, calls // clients)

    async def worker() -> None:
        for _ in range(per_client):
            started = time.perf_counter()
            await one_call()  # type: ignore[operator]
            latencies.append(time.perf_counter() - started)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies, time.perf_counter() - wall, time.process_time() - cpu


def summary(name: str, clients: int, result: tuple[list[float], float, float]) -> str:
    latencies, wall, cpu = result
    ordered = sorted(latencies)
    q = statistics.quantiles(ordered, n=100)
    return (
        f"| {name} | {clients} | {q[49] * 1000:.2f} | {q[94] * 1000:.2f} | {q[98] * 1000:.2f} "
        f"| {len(ordered) / wall:.0f} | {cpu / len(ordered) * 1e6:.0f} |"
    )


async def main(url: str, calls: int, levels: list[int]) -> None:
    transport = StreamableHttpTransport(url, {}, timeout=30.0, max_message_bytes=4 * 1024 * 1024)
    await transport.start()
    try:
        conn = Correlator(transport)
        init = {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"},
        }
        await conn.call("initialize", init)
        await transport.send(messages.notification("notifications/initialized"))
        session = {"Mcp-Session-Id": transport.session_id or "", "MCP-Protocol-Version": "2025-11-25"}
        echo = {"name": "echo", "arguments": {"text": "hello"}}
        bare_ids = iter(range(10**6, 10**9))
        async with httpx2.AsyncClient(timeout=30.0) as bare:

            async def via_transport() -> None:
                await conn.call("tools/call", echo)

            async def via_httpx2() -> None:
                # Ids must stay unique within the session, as the transport's caller keeps them.
                body = messages.dumps(messages.request(next(bare_ids), "tools/call", echo))
                response = await bare.post(url, content=body, headers={**ACCEPT, **session})
                response.raise_for_status()

            for warm in (via_transport, via_httpx2):
                await run_level(4, 100, warm)
            print("| path | clients | p50 ms | p95 ms | p99 ms | calls/s | client CPU µs/call |")
            print("| --- | --- | --- | --- | --- | --- | --- |")
            for clients in levels:
                print(summary("transport", clients, await run_level(clients, calls, via_transport)))
                print(summary("bare httpx2", clients, await run_level(clients, calls, via_httpx2)))
        conn.reader.cancel()
    finally:
        await transport.close()


def stop(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per run")
    parser.add_argument("--clients", default="1,4,16", help="concurrency levels")
    args = parser.parse_args()
    port = free_port()
    echo_server = start_server(port)

    def on_sigterm(signum: int, frame: object) -> None:
        """`timeout` and friends end the run: never leave the echo server behind."""
        stop(echo_server)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        asyncio.run(
            main(f"http://127.0.0.1:{port}/mcp", args.calls, [int(n) for n in args.clients.split(",")])
        )
    finally:
        stop(echo_server)
