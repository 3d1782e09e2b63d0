"""The Streamable HTTP transport against real servers: server-everything (2025-11-25 sessions) and
the official Python SDK server (2026-07-28, stateless, header-validated)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx2
import pytest

from ostiary import messages, methods
from ostiary.messages import Kind
from ostiary.transports.base import TransportClosed
from ostiary.transports.http_client import StreamableHttpTransport
from transports.conftest import Server, loopback_port
from transports.peers import (
    ACCEPTED,
    LAST_CHUNK,
    MAX_MESSAGE,
    MODERN,
    MODERN_META,
    Driver,
    chunk,
    json_response,
    long_running,
    scripted_server,
    sse_head,
    tool_text,
)

pytestmark = pytest.mark.e2e


@contextlib.asynccontextmanager
async def connected(url: str, **kwargs: object) -> AsyncIterator[Driver]:
    transport = StreamableHttpTransport(url, {}, timeout=10.0, max_message_bytes=MAX_MESSAGE, **kwargs)  # type: ignore[arg-type]
    await transport.start()
    try:
        yield Driver(transport)
    finally:
        await transport.close()


async def wait_until(condition: Callable[[], bool], polls: int = 250) -> None:
    """Polls a transport's state (it has no event for it) for up to `polls` x 20 ms."""
    for _ in range(polls):
        if condition():
            return
        await asyncio.sleep(0.02)
    pytest.fail("the condition never held")


def transport_of(driver: Driver) -> StreamableHttpTransport:
    assert isinstance(driver.transport, StreamableHttpTransport)
    return driver.transport


# --- 2025-11-25 sessions against server-everything ---------------------------------------------


async def test_initialize_opens_a_session_and_learns_the_protocol_version(everything_http: Server) -> None:
    async with connected(everything_http.url) as driver:
        reply = await driver.handshake()
        transport = transport_of(driver)
        assert reply.result["protocolVersion"] == "2025-11-25"
        assert transport.session_id
        assert transport.protocol_version == "2025-11-25"
        tools = await driver.request(methods.TOOLS_LIST)
        assert tools.related == tools.id
        assert "echo" in {tool["name"] for tool in tools.result["tools"]}


async def test_echo_round_trips_unicode_and_a_256_kib_payload(everything_http: Server) -> None:
    async with connected(everything_http.url) as driver:
        await driver.handshake()
        for text in ("héllo wörld ✓ 🎉 \u202e", "x" * (256 * 1024)):
            reply = await driver.request(methods.TOOLS_CALL, {"name": "echo", "arguments": {"message": text}})
            assert tool_text(reply) == f"Echo: {text}"


async def test_sixteen_concurrent_calls_each_get_their_own_answer(everything_http: Server) -> None:
    async with connected(everything_http.url) as driver:
        await driver.handshake()
        ids = list(range(100, 116))
        for request_id in ids:
            params = {"name": "echo", "arguments": {"message": f"call {request_id}"}}
            await driver.transport.send(messages.request(request_id, methods.TOOLS_CALL, params))
        answers = {}
        while len(answers) < len(ids):
            message = await driver.receive()
            if message.is_response:
                answers[message.id] = message
        assert {key: tool_text(reply) for key, reply in answers.items()} == {
            i: f"Echo: call {i}" for i in ids
        }
        assert all(reply.related == key for key, reply in answers.items())


async def test_progress_arrives_on_the_stream_of_its_request(everything_http: Server) -> None:
    async with connected(everything_http.url) as driver:
        await driver.handshake()
        params = long_running(0.6, 3, "tok-1")
        reply = await driver.request(methods.TOOLS_CALL, params)
        assert reply.kind is Kind.RESULT
        progress = [m for m in driver.other if m.method == methods.PROGRESS]
        assert [m.params["progress"] for m in progress] == [1, 2, 3]
        assert {m.params["progressToken"] for m in progress} == {"tok-1"}
        assert {m.related for m in progress} == {reply.id}


async def test_a_sampling_request_reaches_the_client_and_its_answer_completes_the_call(
    everything_http: Server,
) -> None:
    async with connected(everything_http.url) as driver:
        await driver.handshake({"sampling": {}})
        sampling, reply = await driver.sampled_call("hi from ostiary")
        assert sampling.kind is Kind.REQUEST
        assert sampling.related == reply.id
        assert "hi from ostiary" in tool_text(reply)


async def test_server_initiated_messages_arrive_on_the_get_stream(everything_http: Server) -> None:
    async with connected(everything_http.url) as driver:
        await driver.handshake()
        await driver.request(methods.TOOLS_CALL, {"name": "toggle-simulated-logging", "arguments": {}})
        log_line = next((m for m in driver.other if m.method == methods.MESSAGE and m.related is None), None)
        while log_line is None:
            message = await driver.receive(within=8.0)
            if message.method == methods.MESSAGE and message.related is None:
                log_line = message
        assert "SessionId" in str(log_line.params.get("data"))


async def test_close_ends_the_upstream_session(everything_http: Server) -> None:
    async with connected(everything_http.url) as driver:
        await driver.handshake()
        session = transport_of(driver).session_id
    assert session is not None
    probe = messages.request(1, methods.TOOLS_LIST)
    async with httpx2.AsyncClient() as client:
        resp = await client.post(
            everything_http.url,
            content=messages.dumps(probe),
            headers={
                "Accept": "application/json, text/event-stream",
                "Content-Type": "application/json",
                "Mcp-Session-Id": session,
                "MCP-Protocol-Version": "2025-11-25",
            },
        )
    assert resp.status_code == 400
    assert "No valid session ID" in resp.json()["error"]["message"]


async def test_a_json_rpc_error_body_on_an_http_error_is_delivered_as_the_answer(
    everything_http: Server,
) -> None:
    async with connected(everything_http.url) as driver:
        reply = await driver.request(methods.TOOLS_LIST)  # no initialize: the server refuses it
        assert reply.kind is Kind.ERROR
        assert reply.error["code"] != methods.UPSTREAM_UNAVAILABLE
        assert reply.related == reply.id


async def test_an_http_error_without_json_rpc_body_becomes_upstream_unavailable(
    everything_http: Server,
) -> None:
    url = everything_http.url.replace("/mcp", "/not-an-endpoint")
    async with connected(url) as driver:
        reply = await driver.request(methods.TOOLS_LIST)
        assert reply.error["code"] == methods.UPSTREAM_UNAVAILABLE
        assert reply.error["message"] == "upstream HTTP 404"


async def test_an_unreachable_server_fails_each_request_without_closing_the_transport() -> None:
    async with connected(f"http://127.0.0.1:{loopback_port()}/mcp") as driver:
        for _ in range(2):
            reply = await driver.request(methods.TOOLS_LIST)
            assert reply.error["code"] == methods.UPSTREAM_UNAVAILABLE
        await driver.transport.send(messages.notification(methods.INITIALIZED))


async def test_a_server_killed_mid_stream_fails_the_pending_request(
    start_everything: Callable[..., Server],
) -> None:
    server = start_everything("streamableHttp")
    async with connected(server.url, reconnect_attempts=2) as driver:
        await driver.handshake()
        call_id = driver.new_id()
        params = long_running(30, 30, 7)
        await driver.transport.send(messages.request(call_id, methods.TOOLS_CALL, params))
        first = await driver.receive()
        assert first.method == methods.PROGRESS
        server.stop()
        reply = await driver.until_response(call_id, within=10.0)
        assert reply.error["code"] == methods.UPSTREAM_UNAVAILABLE


async def test_a_restarted_server_that_forgot_the_session_closes_the_transport(
    start_everything: Callable[..., Server],
) -> None:
    server = start_everything("streamableHttp")
    async with connected(server.url) as driver:
        await driver.handshake()
        await wait_until(lambda: transport_of(driver).server_stream_open)
        server.crash()
        start_everything("streamableHttp", server.port)
        # server-everything answers an unknown session with 400, not 404; losing the GET stream
        # for good is what tells the transport the session is gone.
        assert await driver.until_closed(within=10.0) == "upstream event stream lost"


# --- session expiry and 2026-07-28 against the Python SDK server --------------------------------


async def test_a_session_the_server_forgot_closes_the_transport_for_a_new_handshake(py_http: Server) -> None:
    async with connected(py_http.url) as driver:
        await driver.handshake()
        transport = transport_of(driver)
        assert transport.session_id
        async with httpx2.AsyncClient() as client:
            gone = await client.delete(
                py_http.url,
                headers={"Mcp-Session-Id": transport.session_id, "MCP-Protocol-Version": "2025-11-25"},
            )
            assert gone.status_code in (200, 204)
        # The POST's 404 or the GET stream's reconnect may notice first; either way the request is
        # answered (or refused at send) and the transport ends.
        expired = {"code": methods.UPSTREAM_UNAVAILABLE, "message": "upstream session expired"}
        try:
            outcome = (await driver.request(methods.TOOLS_LIST)).error
        except TransportClosed as exc:
            outcome = {"code": methods.UPSTREAM_UNAVAILABLE, "message": exc.reason}
        assert outcome == expired
        assert await driver.until_closed() == "upstream session expired"


Handler = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]
INIT_RESULT = b'{"jsonrpc":"2.0","id":2,"result":{"protocolVersion":"2025-06-18","capabilities":{}}}'


def legacy_session(on_request: Handler, on_get: Handler | None = None) -> Handler:
    """A scripted 2025-06-18 server: session `s-1` at initialize, 202 for notifications, no GET
    stream unless `on_get`; every other request goes to `on_request`."""

    async def respond(request: bytes, writer: asyncio.StreamWriter) -> None:
        if request.startswith(b"GET"):
            if on_get is None:
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            else:
                await on_get(request, writer)
        elif b'"method":"initialize"' in request:
            writer.write(json_response(INIT_RESULT, extra="mcp-session-id: s-1\r\n"))
        elif b'"id":' not in request.partition(b"\r\n\r\n")[2]:
            writer.write(ACCEPTED)
        else:
            await on_request(request, writer)

    return respond


async def test_legacy_posts_carry_the_session_and_version_and_a_404_expires_the_session() -> None:
    seen: list[bytes] = []

    async def not_found(request: bytes, writer: asyncio.StreamWriter) -> None:
        seen.append(request.lower())
        writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\n\r\nnot found")

    async with (
        scripted_server(legacy_session(not_found)) as port,
        connected(f"http://127.0.0.1:{port}/mcp") as driver,
    ):
        await driver.handshake(version="2025-06-18")
        reply = await driver.request(methods.TOOLS_LIST)
        assert reply.error == {"code": methods.UPSTREAM_UNAVAILABLE, "message": "upstream session expired"}
        assert await driver.until_closed() == "upstream session expired"
    assert b"mcp-session-id: s-1\r\n" in seen[0]
    assert b"mcp-protocol-version: 2025-06-18\r\n" in seen[0]


async def test_a_legacy_handshake_after_a_failed_modern_probe_carries_no_modern_headers() -> None:
    seen: list[bytes] = []

    async def refuse_modern(request: bytes, writer: asyncio.StreamWriter) -> None:
        refusal = b'{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request: no session"}}'
        writer.write(json_response(refusal, status="400 Bad Request"))

    legacy = legacy_session(refuse_modern)

    async def record(request: bytes, writer: asyncio.StreamWriter) -> None:
        seen.append(request.lower())
        await legacy(request, writer)

    async with scripted_server(record) as port, connected(f"http://127.0.0.1:{port}/mcp") as driver:
        driver.next_id = 0
        probe = await driver.request(methods.DISCOVER, modern())
        assert probe.error["code"] == -32000
        assert probe.id == 1  # the server's id-less error is attributed to the probe it answers
        await driver.handshake(version="2025-06-18")
    probe_head, initialize_head = seen[0], seen[1]
    assert b"mcp-method: server/discover\r\n" in probe_head
    assert b"mcp-protocol-version: 2026-07-28\r\n" in probe_head
    assert b"mcp-method" not in initialize_head
    assert b"mcp-protocol-version" not in initialize_head


async def test_garbage_on_a_response_stream_is_skipped_and_the_answer_still_arrives() -> None:
    async def garbage_then_answer(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(sse_head())
        for data in (
            b"{not json",
            b'{"jsonrpc":"2.0"}',
            b"[1, 2]",
            b'{"jsonrpc":"2.0","id":3,"result":{"ok":1}}',
        ):
            writer.write(chunk(b"data: " + data + b"\n\n"))
        writer.write(LAST_CHUNK)

    async with (
        scripted_server(legacy_session(garbage_then_answer)) as port,
        connected(f"http://127.0.0.1:{port}/mcp") as driver,
    ):
        await driver.handshake(version="2025-06-18")
        reply = await driver.request(methods.TOOLS_LIST)
        assert reply.result == {"ok": 1}
        assert driver.other == []


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (json_response(b'{"jsonrpc":"2.0","id":3,"result":{"big":"' + b"x" * 2048 + b'"}}'), "size limit"),
        (sse_head() + chunk(b"data: " + b"y" * 2048 + b"\n\n") + LAST_CHUNK, "ended before the response"),
        (sse_head() + chunk(b": only a comment\n\n") + LAST_CHUNK, "ended before the response"),
        (b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 4\r\n\r\n<p/>", "content type"),
        (json_response(b"<html>secret</html>", status="502 Bad Gateway"), "upstream HTTP 502"),
    ],
    ids=["oversize-json", "oversize-event", "stream-without-answer", "html", "bad-gateway"],
)
async def test_a_request_that_cannot_be_answered_gets_a_synthetic_error(answer: bytes, reason: str) -> None:
    async def respond(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(answer)

    async with scripted_server(legacy_session(respond)) as port:
        url = f"http://127.0.0.1:{port}/mcp"
        transport = StreamableHttpTransport(url, {}, timeout=5.0, max_message_bytes=1024)
        await transport.start()
        try:
            driver = Driver(transport)
            await driver.handshake(version="2025-06-18")
            reply = await driver.request(methods.TOOLS_LIST)
        finally:
            await transport.close()
    assert reply.error["code"] == methods.UPSTREAM_UNAVAILABLE
    assert reason in reply.error["message"]
    assert "secret" not in reply.error["message"]


async def test_a_stream_closed_after_an_event_id_is_resumed_with_last_event_id() -> None:
    gets: list[bytes] = []

    async def poll_then_close(request: bytes, writer: asyncio.StreamWriter) -> None:
        progress = (
            b'{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}'
        )
        writer.write(sse_head() + chunk(b"id: ev-1\nretry: 50\ndata: " + progress + b"\n\n") + LAST_CHUNK)

    async def resume(request: bytes, writer: asyncio.StreamWriter) -> None:
        gets.append(request.lower())
        if b"last-event-id: ev-1" in request.lower():
            writer.write(sse_head() + chunk(b'id: ev-2\ndata: {"jsonrpc":"2.0","id":3,"result":{}}\n\n'))
        else:
            writer.write(sse_head())  # the standalone stream: stays open
        await asyncio.sleep(30)

    async with (
        scripted_server(legacy_session(poll_then_close, resume)) as port,
        connected(f"http://127.0.0.1:{port}/mcp") as driver,
    ):
        await driver.handshake(version="2025-06-18")
        reply = await driver.request(methods.TOOLS_LIST)
        assert reply.result == {}
        assert reply.related == reply.id
        assert [m.method for m in driver.other] == [methods.PROGRESS]
    assert any(b"last-event-id: ev-1\r\n" in get for get in gets)


async def test_legacy_cancellation_is_posted_and_the_server_withholds_the_answer(
    everything_http: Server,
) -> None:
    async with connected(everything_http.url) as driver:
        await driver.handshake()
        params = long_running(1.5, 3, "stop-me")
        await driver.transport.send(messages.request(77, methods.TOOLS_CALL, params))
        assert (await driver.receive()).method == methods.PROGRESS
        await driver.transport.send(messages.notification(methods.CANCELLED, {"requestId": 77}))
        late: list[messages.Message] = []
        with contextlib.suppress(asyncio.TimeoutError):
            while True:
                late.append(await driver.receive(within=2.5))
        # The tool keeps reporting progress, but the server withholds the answer of a cancelled
        # request, which it would have sent after 1.5 s had the cancellation not reached it.
        assert [m.params["progress"] for m in late] == [2, 3]


async def post_tool_call_by_hand(url: str, params: dict[str, object], name_header: str) -> httpx2.Response:
    """A 2026-07-28 tools/call with exactly the standard headers, and `Mcp-Name` as given."""
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": methods.TOOLS_CALL,
        "Mcp-Name": name_header,
    }
    async with httpx2.AsyncClient() as client:
        body = messages.dumps(messages.request(1, methods.TOOLS_CALL, params))
        return await client.post(url, content=body, headers=headers)


def modern(params: dict[str, object] | None = None) -> dict[str, object]:
    return {**(params or {}), "_meta": dict(MODERN_META)}


async def test_modern_discover_and_call_pass_the_servers_header_validation(py_http: Server) -> None:
    async with connected(py_http.url) as driver:
        discovered = await driver.request(methods.DISCOVER, modern())
        assert MODERN in discovered.result["supportedVersions"]
        reply = await driver.request(
            methods.TOOLS_CALL, modern({"name": "echo", "arguments": {"text": "ünï"}})
        )
        assert tool_text(reply) == "ünï"
        assert transport_of(driver).session_id is None


async def test_a_non_ascii_resource_uri_travels_in_the_base64_header_form(py_http: Server) -> None:
    async with connected(py_http.url) as driver:
        listed = await driver.request(methods.RESOURCES_LIST, modern())
        uri = next(r["uri"] for r in listed.result["resources"] if not r["uri"].isascii())
        reply = await driver.request(methods.RESOURCES_READ, modern({"uri": uri}))
        assert reply.kind is Kind.RESULT, reply.raw
        assert reply.result["contents"][0]["text"] == "ünïcödé"


async def test_the_server_rejects_a_name_header_that_does_not_mirror_the_body(py_http: Server) -> None:
    call = modern({"name": "echo", "arguments": {"text": "x"}})
    resp = await post_tool_call_by_hand(py_http.url, call, "not-echo")
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == methods.HEADER_MISMATCH


async def test_arguments_a_tool_marks_with_x_mcp_header_are_mirrored_into_param_headers(
    py_http: Server,
) -> None:
    call = modern({"name": "forecast", "arguments": {"region": "Zürich Nord", "days": 3}})
    async with connected(py_http.url) as driver:
        listed = await driver.request(methods.TOOLS_LIST, modern())
        schema = next(t for t in listed.result["tools"] if t["name"] == "forecast")["inputSchema"]
        assert schema["properties"]["region"]["x-mcp-header"] == "Region"
        reply = await driver.request(methods.TOOLS_CALL, call)
        assert tool_text(reply) == "Zürich Nord:3"
    # Without the headers the server refuses the same call: they are what made it pass.
    resp = await post_tool_call_by_hand(py_http.url, call, "forecast")
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == methods.HEADER_MISMATCH


async def test_a_modern_unknown_method_gets_the_servers_own_method_not_found(py_http: Server) -> None:
    async with connected(py_http.url) as driver:
        reply = await driver.request("no/such-method", modern())
        assert reply.error["code"] == methods.METHOD_NOT_FOUND
        assert reply.related == reply.id


async def test_modern_progress_is_related_to_its_request(py_http: Server) -> None:
    async with connected(py_http.url) as driver:
        params = modern({"name": "slow", "arguments": {"seconds": 0.3}})
        params["_meta"] = {**MODERN_META, "progressToken": "p"}
        reply = await driver.request(methods.TOOLS_CALL, params)
        assert tool_text(reply) == "done"
        progress = [m for m in driver.other if m.method == methods.PROGRESS]
        assert len(progress) == 10
        assert {m.related for m in progress} == {reply.id}


async def test_modern_cancellation_closes_the_stream_and_nothing_more_arrives_for_it(py_http: Server) -> None:
    async with connected(py_http.url) as driver:
        params = modern({"name": "slow", "arguments": {"seconds": 20}})
        params["_meta"] = {**MODERN_META, "progressToken": "c"}
        await driver.transport.send(messages.request(500, methods.TOOLS_CALL, params))
        first = await driver.receive()
        assert first.method == methods.PROGRESS
        await driver.transport.send(messages.notification(methods.CANCELLED, {"requestId": 500}))
        with pytest.raises(asyncio.TimeoutError):
            await driver.receive(within=1.5)
        reply = await driver.request(
            methods.TOOLS_CALL, modern({"name": "echo", "arguments": {"text": "after"}})
        )
        assert tool_text(reply) == "after"
