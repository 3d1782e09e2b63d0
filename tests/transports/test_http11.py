"""The lean HTTP/1.1 transport under the Streamable HTTP client: framing, keep-alive, failures,
cookies, proxies."""

from __future__ import annotations

import asyncio
import gzip
from contextlib import aclosing

import httpx2
import pytest

from ostiary.transports.http11 import UpstreamHttp, body_chunks
from transports.peers import LAST_CHUNK, chunk, json_response, scripted_server

pytestmark = pytest.mark.e2e


async def post(http: UpstreamHttp, body: bytes = b"{}") -> tuple[int, bytes]:
    async with http.stream("POST", {"Content-Type": "application/json"}, body) as response:
        return response.status_code, b"".join([part async for part in body_chunks(response)])


async def test_requests_reuse_one_connection_and_arrive_whole() -> None:
    seen: list[tuple[object, bytes]] = []

    async def respond(request: bytes, writer: asyncio.StreamWriter) -> None:
        seen.append((writer.get_extra_info("peername"), request))
        writer.write(json_response(b'{"n": %d}' % len(seen)))

    async with (
        scripted_server(respond) as port,
        aclosing(UpstreamHttp(f"http://127.0.0.1:{port}/mcp", 5)) as http,
    ):
        assert http.transport is not None
        assert [await post(http, b'{"x": 1}') for _ in range(3)] == [
            (200, b'{"n": 1}'),
            (200, b'{"n": 2}'),
            (200, b'{"n": 3}'),
        ]
    assert len({peer for peer, _ in seen}) == 1
    head, _, body = seen[0][1].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /mcp HTTP/1.1\r\n")
    assert b"\r\ncontent-length: 8" in head.lower()
    assert b"\r\nhost: 127.0.0.1:" in head.lower()
    assert body == b'{"x": 1}'


async def test_chunked_body_is_reassembled() -> None:
    async def respond(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        writer.write(chunk(b"event: message\n") + chunk(b"data: {}\n\n") + LAST_CHUNK)

    async with (
        scripted_server(respond) as port,
        aclosing(UpstreamHttp(f"http://127.0.0.1:{port}/", 5)) as http,
        http.stream("GET", {}) as reply,
    ):
        body = b"".join([part async for part in body_chunks(reply)])
    assert body == b"event: message\ndata: {}\n\n"


async def test_body_without_length_ends_with_the_connection() -> None:
    peers: list[object] = []

    async def respond(request: bytes, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername"))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{}")
        await writer.drain()
        writer.close()

    async with (
        scripted_server(respond) as port,
        aclosing(UpstreamHttp(f"http://127.0.0.1:{port}/", 5)) as http,
    ):
        assert [await post(http) for _ in range(2)] == [(200, b"{}"), (200, b"{}")]
    assert len(set(peers)) == 2


async def test_cookies_the_server_sets_are_sent_back() -> None:
    cookies: list[bytes] = []

    async def respond(request: bytes, writer: asyncio.StreamWriter) -> None:
        lines = request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        cookies.extend(line for line in lines if line.lower().startswith(b"cookie:"))
        writer.write(json_response(b"{}", extra="set-cookie: route=a1; Path=/\r\n"))

    async with (
        scripted_server(respond) as port,
        aclosing(UpstreamHttp(f"http://127.0.0.1:{port}/", 5)) as http,
    ):
        await post(http)
        await post(http)
    assert [c.lower() for c in cookies] == [b"cookie: route=a1"]


async def test_server_that_hangs_up_mid_body_is_a_network_error() -> None:
    async def respond(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{")
        await writer.drain()
        writer.close()

    async with (
        scripted_server(respond) as port,
        aclosing(UpstreamHttp(f"http://127.0.0.1:{port}/", 5)) as http,
    ):
        with pytest.raises(httpx2.HTTPError):
            await post(http)


async def test_malformed_response_is_a_network_error() -> None:
    async def respond(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")

    async with (
        scripted_server(respond) as port,
        aclosing(UpstreamHttp(f"http://127.0.0.1:{port}/", 5)) as http,
    ):
        with pytest.raises(httpx2.HTTPError):
            await post(http)


async def test_unreachable_server_is_a_connect_error() -> None:
    async with scripted_server(lambda request, writer: asyncio.sleep(0)) as port:
        pass  # closed again: nothing listens on the port now
    async with aclosing(UpstreamHttp(f"http://127.0.0.1:{port}/", 5)) as http:
        with pytest.raises(httpx2.ConnectError):
            await post(http)


async def test_cancelled_request_closes_its_connection() -> None:
    received = asyncio.Event()
    hung_up = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        received.set()
        while await reader.read(1024):
            pass
        hung_up.set()  # end of stream: how a server learns that a request was abandoned
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with aclosing(UpstreamHttp(f"http://127.0.0.1:{port}/", 5)) as http:
            call = asyncio.create_task(post(http))
            await asyncio.wait_for(received.wait(), 5)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            await asyncio.wait_for(hung_up.wait(), 5)
    finally:
        server.close()
        await server.wait_closed()


async def test_proxy_from_the_environment_still_carries_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[bytes] = []

    async def respond(request: bytes, writer: asyncio.StreamWriter) -> None:
        lines.append(request.split(b"\r\n", 1)[0])
        writer.write(json_response(b"{}"))

    async with scripted_server(respond) as proxy_port:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
        async with aclosing(UpstreamHttp("http://upstream.invalid:9/mcp", 5)) as http:
            assert http.transport is None
            assert await post(http) == (200, b"{}")
    assert lines == [b"POST http://upstream.invalid:9/mcp HTTP/1.1"]


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\x00b", "clé"])
async def test_a_header_that_cannot_go_on_the_wire_is_refused_before_sending(value: str) -> None:
    requests: list[bytes] = []

    async def respond(request: bytes, writer: asyncio.StreamWriter) -> None:
        requests.append(request)
        writer.write(json_response(b"{}"))

    async with (
        scripted_server(respond) as port,
        aclosing(UpstreamHttp(f"http://127.0.0.1:{port}/", 5)) as http,
    ):
        with pytest.raises(httpx2.HTTPError):
            async with http.stream("POST", {"X-Token": value}, b"{}"):
                pass
        assert await post(http) == (200, b"{}")  # the pool is not left short of a connection
    assert len(requests) == 1 and b"x-token" not in requests[0].lower()


async def test_a_compressed_body_is_decoded() -> None:
    body = gzip.compress(b'{"big": true}')

    async def respond(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(json_response(body, extra="content-encoding: gzip\r\n"))

    async with (
        scripted_server(respond) as port,
        aclosing(UpstreamHttp(f"http://127.0.0.1:{port}/", 5)) as http,
    ):
        assert await post(http) == (200, b'{"big": true}')


async def test_a_server_that_does_not_read_the_request_times_out_its_write() -> None:
    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()  # never reads
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with aclosing(UpstreamHttp(f"http://127.0.0.1:{port}/", 0.5)) as http:
            with pytest.raises(httpx2.WriteTimeout):
                await asyncio.wait_for(post(http, b"x" * (64 * 1024 * 1024)), 10)
    finally:
        done.set()
        server.close()
        await server.wait_closed()
