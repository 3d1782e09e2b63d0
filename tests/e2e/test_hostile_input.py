"""Hostile and broken input against the gateway: each gets a clear error or a clean drop, and the
gateway keeps serving everyone else with nothing left running.

The host side is raw JSON-RPC written to `ostiary run`'s stdin (and, in test_hostile_http.py, posted
to `ostiary serve`); the server side is a real SDK server (tests/fixtures/faulty_server.py) that
crashes, writes garbage to stdout or stalls when asked.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rawstdio import RawStdioClient

from conftest import stop_process_group

pytestmark = pytest.mark.e2e

FAULTY = Path(__file__).resolve().parent.parent / "fixtures" / "faulty_server.py"
LIMIT = 65536
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
UPSTREAM_UNAVAILABLE = -32011


def hostile_config(tmp_path: Path) -> dict[str, Any]:
    """Two independent copies of the faulty server: one to break, one that must keep working."""
    server = {"command": sys.executable, "args": [str(FAULTY)], "timeout": 20}
    return {
        "servers": {"faulty": server, "steady": dict(server)},
        "limits": {"max_message_bytes": LIMIT},
        "store": f"sqlite+aiosqlite:///{tmp_path}/store.db",
    }


@contextlib.contextmanager
def running_gateway(ostiary_command: list[str], tmp: Path) -> Iterator[RawStdioClient]:
    """`ostiary run` on the hostile config, initialized; stopped and reaped on exit."""
    config = tmp / "ostiary.yaml"
    config.write_text(yaml.safe_dump(hostile_config(tmp)), encoding="utf-8")
    with (tmp / "gateway.log").open("wb") as log:
        proc = subprocess.Popen(
            [*ostiary_command, "run", "--config", str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
    try:
        client = RawStdioClient(proc)
        client.initialize()
        yield client
    finally:
        stop_process_group(proc)


@pytest.fixture(scope="module")
def shared(ostiary_command: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawStdioClient]:
    """One gateway for all the tests whose input must not disturb it: that it keeps answering
    after each of them is part of what they check."""
    with running_gateway(ostiary_command, tmp_path_factory.mktemp("hostile")) as client:
        yield client


@pytest.fixture
def fresh(ostiary_command: list[str], tmp_path: Path) -> Iterator[RawStdioClient]:
    """A gateway of its own, for tests that break a server or end the session."""
    with running_gateway(ostiary_command, tmp_path) as client:
        yield client


def text_of(response: dict[str, Any]) -> str:
    assert "result" in response, f"expected a result, got {response}"
    return "".join(block.get("text", "") for block in response["result"]["content"])


def assert_error(response: dict[str, Any], *codes: int) -> dict[str, Any]:
    assert "error" in response, f"expected a JSON-RPC error, got {response}"
    error = response["error"]
    assert error["code"] in codes, f"expected one of {codes}, got {error}"
    assert isinstance(error.get("message"), str)
    assert error["message"]
    return error


def test_a_line_that_is_not_json_gets_a_parse_error_and_the_session_goes_on(shared: RawStdioClient) -> None:
    shared.write(b'{"jsonrpc": "2.0", "id": 1, "method": \n')
    error = shared.next_message()
    assert error["id"] is None
    assert_error(error, PARSE_ERROR)
    assert text_of(shared.call_tool("steady__echo", {"text": "after junk"})) == "after junk"


def test_binary_garbage_gets_a_parse_error_and_the_session_goes_on(shared: RawStdioClient) -> None:
    shared.write(b"\xff\xfe\x00garbage\x80\n")
    assert_error(shared.next_message(), PARSE_ERROR)
    assert text_of(shared.call_tool("steady__echo", {"text": "ok"})) == "ok"


@pytest.mark.parametrize(
    ("message", "why"),
    [
        ({"id": 41, "method": "tools/list"}, "missing jsonrpc"),
        ({"jsonrpc": "1.0", "id": 42, "method": "tools/list"}, "wrong jsonrpc version"),
        ({"jsonrpc": "2.0", "id": None, "method": "tools/list"}, "null id"),
        ({"jsonrpc": "2.0", "id": 43, "method": "tools/call", "params": ["steady__echo"]}, "array params"),
        ({"jsonrpc": "2.0", "id": 44, "method": 7}, "method not a string"),
        ({"jsonrpc": "2.0", "id": {"nested": 1}, "method": "ping"}, "object id"),
        ("just a string", "not an object"),
    ],
)
def test_a_malformed_request_gets_invalid_request_and_the_session_goes_on(
    shared: RawStdioClient, message: Any, why: str
) -> None:
    shared.send(message)
    response = shared.next_message()
    assert_error(response, INVALID_REQUEST, INVALID_PARAMS)
    if isinstance(message, dict) and isinstance(message.get("id"), int):
        assert response["id"] == message["id"], why
    assert text_of(shared.call_tool("steady__echo", {"text": why})) == why


def test_a_batch_is_refused_on_a_revision_without_batches(shared: RawStdioClient) -> None:
    shared.send(
        [{"jsonrpc": "2.0", "id": 51, "method": "ping"}, {"jsonrpc": "2.0", "id": 52, "method": "ping"}]
    )
    assert_error(shared.next_message(), INVALID_REQUEST)
    assert text_of(shared.call_tool("steady__echo", {"text": "ok"})) == "ok"


def test_an_empty_batch_is_an_invalid_request(shared: RawStdioClient) -> None:
    shared.write(b"[]\n")
    assert_error(shared.next_message(), INVALID_REQUEST)


def test_an_oversize_message_is_refused_and_the_session_goes_on(shared: RawStdioClient) -> None:
    big = {"jsonrpc": "2.0", "id": 61, "method": "tools/call"}
    big["params"] = {"name": "steady__echo", "arguments": {"text": "x" * (LIMIT * 2)}}
    shared.send(big)
    assert_error(shared.next_message(), INVALID_REQUEST)
    # A large message within the limit still goes through whole (the echo answers with the text
    # twice, as content and as structured content, so the answer stays under the limit too).
    text = "y" * (LIMIT // 2 - 2048)
    assert text_of(shared.call_tool("steady__echo", {"text": text})) == text


def test_a_server_answer_over_the_limit_becomes_a_prompt_error_not_a_hang(fresh: RawStdioClient) -> None:
    started = time.monotonic()
    response = fresh.call_tool("steady__echo", {"text": "z" * (LIMIT - 2048)}, timeout=8)
    assert "error" in response, "an answer over the limit must not reach the host"
    assert time.monotonic() - started < 5, "the host waited for the server timeout instead of a prompt error"
    assert text_of(fresh.call_tool("steady__echo", {"text": "ok"})) == "ok"


def test_an_unknown_method_gets_method_not_found(shared: RawStdioClient) -> None:
    response = shared.request("no/such/method", {"x": 1})
    assert_error(response, METHOD_NOT_FOUND)
    assert text_of(shared.call_tool("steady__echo", {"text": "ok"})) == "ok"


def test_a_response_to_nothing_is_dropped_silently(shared: RawStdioClient) -> None:
    shared.send({"jsonrpc": "2.0", "id": 424242, "result": {"surprise": True}})
    shared.send({"jsonrpc": "2.0", "id": "never-asked", "error": {"code": -1, "message": "nope"}})
    shared.assert_silent(0.5)
    assert text_of(shared.call_tool("steady__echo", {"text": "ok"})) == "ok"


def test_cancelling_an_unknown_request_is_ignored(shared: RawStdioClient) -> None:
    shared.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 999999}})
    shared.send(
        {
            "jsonrpc": "2.0",
            "method": "notifications/progress",
            "params": {"progressToken": "nope", "progress": 1},
        }
    )
    shared.assert_silent(0.5)
    assert text_of(shared.call_tool("steady__echo", {"text": "ok"})) == "ok"


def test_a_reused_request_id_in_flight_is_refused_without_disturbing_the_first(
    shared: RawStdioClient,
) -> None:
    shared.send(
        {
            "jsonrpc": "2.0",
            "id": 77,
            "method": "tools/call",
            "params": {"name": "steady__slow", "arguments": {"seconds": 1}},
        }
    )
    time.sleep(0.2)
    shared.send({"jsonrpc": "2.0", "id": 77, "method": "ping"})
    first = shared.next_message()
    assert_error(first, INVALID_REQUEST)
    assert first["id"] == 77
    assert text_of(shared.response_to(77)) == "slept 1s"


def test_garbage_on_a_servers_stdout_is_skipped_and_its_answer_still_arrives(fresh: RawStdioClient) -> None:
    assert text_of(fresh.call_tool("faulty__junk_then_answer", {})) == "answered after the junk"
    assert text_of(fresh.call_tool("faulty__echo", {"text": "and again"})) == "and again"


def test_a_server_dying_mid_call_gives_a_clean_error_not_a_hang(fresh: RawStdioClient) -> None:
    started = time.monotonic()
    error = assert_error(fresh.call_tool("faulty__crash", {}, timeout=15), UPSTREAM_UNAVAILABLE)
    assert time.monotonic() - started < 10
    assert "faulty" in json.dumps(error)
    # The other server never noticed.
    assert text_of(fresh.call_tool("steady__echo", {"text": "unaffected"})) == "unaffected"


def test_a_crashed_server_is_restarted_and_answers_again(fresh: RawStdioClient) -> None:
    before = text_of(fresh.call_tool("faulty__pid", {}))
    assert_error(fresh.call_tool("faulty__crash", {}, timeout=15), UPSTREAM_UNAVAILABLE)
    deadline = time.monotonic() + 15
    while True:
        response = fresh.call_tool("faulty__pid", {})
        if "result" in response:
            break
        assert_error(response, UPSTREAM_UNAVAILABLE)
        assert time.monotonic() < deadline, "the crashed server was not restarted within 15s"
        time.sleep(0.5)
    assert text_of(response) != before


def test_concurrent_calls_survive_a_neighbour_crashing(fresh: RawStdioClient) -> None:
    slow = fresh.start_request("tools/call", {"name": "steady__slow", "arguments": {"seconds": 1}})
    crash = fresh.start_request("tools/call", {"name": "faulty__crash", "arguments": {}})
    assert_error(fresh.response_to(crash, timeout=15), UPSTREAM_UNAVAILABLE)
    assert text_of(fresh.response_to(slow, timeout=15)) == "slept 1s"


def test_a_host_that_disconnects_mid_call_stops_the_gateway_and_every_server_it_started(
    ostiary_command: list[str],
    spawn: Callable[..., subprocess.Popen[bytes]],
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    config = write_config(hostile_config(tmp_path))
    proc = spawn(
        [*ostiary_command, "run", "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    client = RawStdioClient(proc)
    client.initialize()
    assert text_of(client.call_tool("faulty__echo", {"text": "up"})) == "up"
    client.start_request("tools/call", {"name": "faulty__slow", "arguments": {"seconds": 30}})
    time.sleep(0.3)
    assert proc.stdin is not None
    proc.stdin.close()
    # No signal: end of input alone must end the gateway, its servers and the in-flight call.
    assert proc.wait(timeout=10) == 0
    # The per-test leak check then fails this test if a server process outlived the gateway.
