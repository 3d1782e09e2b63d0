"""A server connection's supervision in one event loop: crashes, backoff, restarts, timeouts."""

from __future__ import annotations

import asyncio
import time

import pytest

from ostiary import methods
from ostiary.messages import JSON, Kind
from ostiary.server_side import connection
from ostiary.testing import Crash, ServerRun, ToolServer, connect, text
from ostiary.transports.memory import MemoryTransport

pytestmark = pytest.mark.timeout(20)

BARE: JSON = {"audit": {"enabled": False}, "inspections": []}


async def echo(params: JSON, run: ServerRun) -> JSON:
    return text("ok")


async def crash(params: JSON, run: ServerRun) -> JSON:
    raise Crash


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "BACKOFF_START", 0.2)


async def test_a_crash_fails_calls_in_flight_and_the_server_restarts_after_its_backoff() -> None:
    gate = asyncio.Event()

    async def slow(params: JSON, run: ServerRun) -> JSON:
        await gate.wait()
        return text("late")

    alpha = ToolServer({"echo": echo, "crash": crash, "slow": slow})
    async with connect(BARE, servers={"alpha": alpha}) as client:
        await client.initialize()
        in_flight = client.start(methods.TOOLS_CALL, {"name": "alpha__slow", "arguments": {}})
        await asyncio.sleep(0.05)
        crashed = await client.request(methods.TOOLS_CALL, {"name": "alpha__crash", "arguments": {}})
        lost = await in_flight
        assert crashed.error["code"] == methods.UPSTREAM_UNAVAILABLE
        assert lost.error["code"] == methods.UPSTREAM_UNAVAILABLE
        # Within the backoff the server is not started again: the call is refused at once.
        refused = await client.request(methods.TOOLS_CALL, {"name": "alpha__echo", "arguments": {}})
        assert refused.error["code"] == methods.UPSTREAM_UNAVAILABLE
        assert len(alpha.runs) == 1
        await asyncio.sleep(0.3)
        again = await client.request(methods.TOOLS_CALL, {"name": "alpha__echo", "arguments": {}})
        assert again.kind is Kind.RESULT, again.raw
        assert len(alpha.runs) == 2
        # The restarted server had its own handshake before the call.
        assert [m.method for m in alpha.runs[1].received][:2] == [methods.INITIALIZE, methods.INITIALIZED]
        assert client.session is not None
        conn = client.session.connections["alpha"]
        assert conn.stats.restarts == 1
        assert conn.state == "up"


async def test_backoff_doubles_per_failed_restart_and_resets_once_the_server_is_up() -> None:
    alpha = ToolServer({"echo": echo, "crash": crash})
    healthy = {"now": True}

    async def flaky(transport: MemoryTransport) -> None:
        if healthy["now"]:
            await alpha(transport)

    async with connect(BARE, servers={"alpha": flaky}) as client:
        await client.initialize()
        assert client.session is not None
        conn = client.session.connections["alpha"]
        await client.request(methods.TOOLS_CALL, {"name": "alpha__crash", "arguments": {}})
        after_crash = conn._backoff
        healthy["now"] = False
        await asyncio.sleep(0.25)
        failed = await client.request(methods.TOOLS_CALL, {"name": "alpha__echo", "arguments": {}})
        assert failed.error["code"] == methods.UPSTREAM_UNAVAILABLE
        assert conn.stats.restarts == 1
        # One failed attempt doubles the backoff once, though both the reader and the
        # handshake see the server go.
        assert conn._backoff == 2 * after_crash
        healthy["now"] = True
        await asyncio.sleep(max(0.0, conn._retry_at - time.monotonic()) + 0.05)
        ok = await client.request(methods.TOOLS_CALL, {"name": "alpha__echo", "arguments": {}})
        assert ok.kind is Kind.RESULT, ok.raw
        assert conn.stats.restarts == 2
        assert conn._backoff == connection.BACKOFF_START


async def test_a_server_that_never_comes_up_leaves_the_others_serving() -> None:
    async def dead(transport: object) -> None:
        return None  # exits at once, before any handshake

    alpha = ToolServer({"echo": echo}, name="alpha")
    async with connect(BARE, servers={"alpha": alpha, "dead": dead}) as client:
        init = await client.initialize()
        assert init.kind is Kind.RESULT
        listed = await client.request(methods.TOOLS_LIST)
        assert [t["name"] for t in listed.result["tools"]] == ["alpha__echo"]
        assert (await client.request(methods.TOOLS_CALL, {"name": "alpha__echo"})).kind is Kind.RESULT


async def test_a_call_past_its_timeout_is_an_error_and_is_cancelled_on_the_server() -> None:
    async def forever(params: JSON, run: ServerRun) -> JSON:
        await asyncio.Event().wait()
        return text("never")

    alpha = ToolServer({"wait": forever})
    config = {**BARE, "servers": {"alpha": {"command": "memory:alpha", "timeout": 0.2}}}
    async with connect(config, servers={"alpha": alpha}) as client:
        await client.initialize()
        response = await client.request(methods.TOOLS_CALL, {"name": "alpha__wait", "arguments": {}})
        assert response.error["code"] == methods.UPSTREAM_TIMEOUT
        await asyncio.sleep(0.05)
        cancels = [m for m in alpha.received if m.method == methods.CANCELLED]
        calls = [m for m in alpha.received if m.method == methods.TOOLS_CALL]
        assert [c.params["requestId"] for c in cancels] == [calls[0].id]
