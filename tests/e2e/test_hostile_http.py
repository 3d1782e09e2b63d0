"""Hostile and broken input against `ostiary serve`: raw HTTP posts that no SDK client would send.

Each gets a clear HTTP status with a JSON-RPC error body, or a clean drop; other sessions keep
working; and ending a session stops the server processes started for it (the per-test leak check
fails a test whose session left one running).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from conftest import free_loopback_port, stop_process_group, wait_for_port

pytestmark = pytest.mark.e2e

FAULTY = Path(__file__).resolve().parent.parent / "fixtures" / "faulty_server.py"
LIMIT = 65536
VERSION = "2025-11-25"
ACCEPT = "application/json, text/event-stream"


def read_messages(response: httpx2.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a reply, whether plain JSON or an SSE stream."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        return [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
    return [response.json()] if response.content else []


class HttpSession:
    """One 2025-11-25 session on the gateway, spoken to with raw requests."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx2.Client(timeout=30.0)
        self.sid = ""
        self._ids = itertools.count(1)
        response = self.rpc(
            "initialize",
            {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "h", "version": "1"}},
        )
        assert "result" in response, response
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def headers(self) -> dict[str, str]:
        headers = {"Accept": ACCEPT, "Content-Type": "application/json", "MCP-Protocol-Version": VERSION}
        if self.sid:
            headers["Mcp-Session-Id"] = self.sid
        return headers

    def post(self, body: Any, raw: bytes | None = None) -> httpx2.Response:
        content = raw if raw is not None else json.dumps(body).encode()
        response = self.http.post(self.url, content=content, headers=self.headers())
        self.sid = self.sid or response.headers.get("mcp-session-id", "")
        return response

    def rpc(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        request_id = next(self._ids)
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            body["params"] = params
        replies = [
            m for m in read_messages(self.post(body)) if m.get("id") == request_id and "method" not in m
        ]
        assert len(replies) == 1, replies
        return replies[0]

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return self.rpc("tools/call", {"name": name, "arguments": arguments})

    def close(self) -> None:
        if self.sid:
            self.http.delete(self.url, headers=self.headers())
        self.http.close()


@pytest.fixture(scope="module")
def gateway_url(ostiary_command: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("hostile-http")
    server = {"command": sys.executable, "args": [str(FAULTY)], "timeout": 20}
    config = tmp / "ostiary.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                # Every 2025-era session gets its own server process, so one server is enough
                # to tell sessions apart; a second would only double each session's start-up.
                "servers": {"faulty": server},
                "limits": {"max_message_bytes": LIMIT},
                "store": f"sqlite+aiosqlite:///{tmp}/store.db",
            }
        ),
        encoding="utf-8",
    )
    port = free_loopback_port()
    with (tmp / "gateway.log").open("wb") as log:
        proc = subprocess.Popen(
            [*ostiary_command, "serve", "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop_process_group(proc)


@pytest.fixture
def session(gateway_url: str) -> Iterator[HttpSession]:
    client = HttpSession(gateway_url)
    yield client
    client.close()


def text_of(response: dict[str, Any]) -> str:
    assert "result" in response, f"expected a result, got {response}"
    return "".join(block.get("text", "") for block in response["result"]["content"])


def error_code(response: httpx2.Response) -> int:
    body = response.json()
    assert isinstance(body.get("error", {}).get("message"), str), body
    return int(body["error"]["code"])


def test_a_body_that_is_not_json_gets_400_and_a_parse_error(session: HttpSession) -> None:
    response = session.post(None, raw=b'{"jsonrpc": "2.0", "id": 1, "method": ')
    assert response.status_code == 400
    assert error_code(response) == -32700
    assert text_of(session.call("faulty__echo", {"text": "ok"})) == "ok"


@pytest.mark.parametrize(
    "body",
    [
        {"id": 5, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": None, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": ["faulty__echo"]},
        "a string",
    ],
    ids=["missing jsonrpc", "null id", "array params", "not an object"],
)
def test_a_malformed_message_gets_400_and_invalid_request(session: HttpSession, body: Any) -> None:
    response = session.post(body)
    assert response.status_code == 400
    assert error_code(response) in (-32600, -32602)
    assert text_of(session.call("faulty__echo", {"text": "ok"})) == "ok"


def test_a_batch_is_refused_on_a_revision_without_batches(session: HttpSession) -> None:
    response = session.post(
        [{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "id": 2, "method": "ping"}]
    )
    assert response.status_code == 400
    assert error_code(response) == -32600


def test_an_oversize_body_gets_413_and_the_session_goes_on(session: HttpSession) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "tools/call",
        "params": {"name": "faulty__echo", "arguments": {"text": "x" * LIMIT}},
    }
    response = session.post(body)
    assert response.status_code == 413
    assert error_code(response) == -32600
    assert text_of(session.call("faulty__echo", {"text": "ok"})) == "ok"


def test_an_unknown_method_gets_method_not_found(session: HttpSession) -> None:
    assert session.rpc("no/such/method", {})["error"]["code"] == -32601


def test_a_response_to_nothing_is_accepted_and_dropped(session: HttpSession) -> None:
    response = session.post({"jsonrpc": "2.0", "id": 424242, "result": {"surprise": True}})
    assert response.status_code == 202
    assert not response.content
    assert text_of(session.call("faulty__echo", {"text": "ok"})) == "ok"


def test_an_unknown_session_id_gets_404(gateway_url: str) -> None:
    headers = {"Accept": ACCEPT, "Content-Type": "application/json", "Mcp-Session-Id": "not-a-session"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    response = httpx2.post(gateway_url, json=body, headers=headers, timeout=10)
    assert response.status_code == 404


def test_a_request_without_a_session_after_the_handshake_era_gets_400(gateway_url: str) -> None:
    headers = {"Accept": ACCEPT, "Content-Type": "application/json", "MCP-Protocol-Version": VERSION}
    response = httpx2.post(
        gateway_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=headers, timeout=10
    )
    assert response.status_code == 400
    assert error_code(response) == -32600


def test_a_foreign_origin_is_refused_with_403(gateway_url: str) -> None:
    headers = {"Accept": ACCEPT, "Content-Type": "application/json", "Origin": "https://evil.example"}
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": VERSION,
            "capabilities": {},
            "clientInfo": {"name": "x", "version": "1"},
        },
    }
    response = httpx2.post(gateway_url, json=body, headers=headers, timeout=10)
    assert response.status_code == 403


def test_a_server_dying_mid_call_gives_a_clean_error_and_other_sessions_go_on(gateway_url: str) -> None:
    victim, bystander = HttpSession(gateway_url), HttpSession(gateway_url)
    try:
        started = time.monotonic()
        assert victim.call("faulty__crash", {})["error"]["code"] == -32011
        assert time.monotonic() - started < 10
        assert text_of(bystander.call("faulty__echo", {"text": "unaffected"})) == "unaffected"
    finally:
        victim.close()
        bystander.close()


def test_a_client_that_disconnects_mid_call_leaves_the_gateway_serving_everyone(gateway_url: str) -> None:
    leaver, stayer = HttpSession(gateway_url), HttpSession(gateway_url)
    try:
        body = {
            "jsonrpc": "2.0",
            "id": 99,
            "method": "tools/call",
            "params": {"name": "faulty__slow", "arguments": {"seconds": 30}},
        }
        # The gateway holds the reply's headers until it knows whether a stream is needed, so the
        # leaver gives up after half a second and hangs up without an answer.
        with pytest.raises(httpx2.ReadTimeout):
            leaver.http.post(gateway_url, json=body, headers=leaver.headers(), timeout=0.5)
        # Everyone, the leaver too, goes on.
        answers: list[str] = []
        threads = [
            threading.Thread(
                target=lambda i=i: answers.append(text_of(stayer.call("faulty__echo", {"text": str(i)})))
            )
            for i in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert sorted(answers) == sorted(str(i) for i in range(8))
        assert text_of(leaver.call("faulty__echo", {"text": "back"})) == "back"
    finally:
        leaver.close()
        stayer.close()
