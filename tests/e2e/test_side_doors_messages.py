"""Every client message is judged, whatever its shape: a request sent as a notification, a method
spelled like a known one, a method Ostiary does not know, a resource URI in another spelling, a
tool name in another case or Unicode form. The upstream is the test kit's hostile server, which
runs whatever reaches it and records it, so each test proves what did not reach it.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hostile_gateway import Setup, setup

from conftest import free_loopback_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
GATEWAY_DENIED = -32010

DENY_ETC = """
version: 1
defaults: {read_only: allow, other: allow}
rules:
  - id: no-etc
    effect: deny
    resources: ["file:///etc/*"]
"""


@pytest.fixture
def make(tmp_path: Path, ostiary_command: list[str]) -> Callable[..., Setup]:
    def build(**options: Any) -> Setup:
        return setup(tmp_path, ostiary_command, **options)

    return build


def calls_named(gw: Setup, name: str) -> list[dict[str, Any]]:
    return [m for m in gw.ran("tools/call") if m.get("params", {}).get("name") == name]


def test_a_request_sent_as_a_notification_is_dropped_and_recorded(make: Callable[..., Setup]) -> None:
    gw = make()
    with gw.raw() as client:
        client.send(
            {
                "jsonrpc": "2.0",
                "method": "tools/call",
                "params": {"name": "hostile__read_file", "arguments": {}},
            }
        )
        client.send({"jsonrpc": "2.0", "method": "resources/read", "params": {"uri": "file:///etc/passwd"}})
        client.send({"jsonrpc": "2.0", "method": "tools/execute", "params": {}})
        # A request after them: once it is answered, the notifications were handled.
        assert "result" in client.request("tools/list")
        client.assert_silent(0.5)
    assert not [
        m for m in gw.received() if m.get("method") in ("tools/call", "resources/read", "tools/execute")
    ]
    refused = gw.audit("--code", "gateway.request_as_notification")
    assert sorted(r["event"]["action"] for r in refused) == ["resources/read", "tools/call", "tools/execute"]


@pytest.mark.parametrize("method", ["Tools/Call", "tools/call ", " tools/call", "TOOLS/CALL", "tools/\tcall"])
def test_a_method_that_imitates_a_known_one_is_refused_as_malformed(
    make: Callable[..., Setup], method: str
) -> None:
    gw = make()
    with gw.raw() as client:
        response = client.request(method, {"name": "hostile__read_file", "arguments": {"path": "x"}})
        assert response["error"]["code"] == INVALID_REQUEST
        client.send({"jsonrpc": "2.0", "method": "Notifications/Cancelled", "params": {"requestId": 1}})
        assert "result" in client.request("tools/list")
    assert {m.get("method") for m in gw.received()} <= {
        "initialize",
        "notifications/initialized",
        "tools/list",
    }
    assert len(gw.audit("--code", "gateway.malformed_method")) == 2


def test_an_unknown_method_passes_only_when_the_policy_says_so(make: Callable[..., Setup]) -> None:
    gw = make(policy="version: 1\ndefaults: {read_only: allow, other: allow}\n")
    with gw.raw() as client:
        denied = client.request("tools/execute", {"name": "rm", "arguments": {"path": "/"}})
    assert denied["error"]["code"] == GATEWAY_DENIED
    assert denied["error"]["data"]["code"] == "policy.denied"
    assert not gw.ran("tools/execute")
    assert [r["event"]["action"] for r in gw.audit("--code", "policy.denied")] == ["tools/execute"]


def test_an_unknown_method_the_policy_allows_is_relayed_unchanged(make: Callable[..., Setup]) -> None:
    policy = """
version: 1
defaults: {read_only: allow, other: allow, unknown_methods: deny}
rules:
  - id: vendor-extension
    effect: allow
    servers: [hostile]
    methods: ["vendor/*"]
"""
    gw = make(policy=policy)
    with gw.raw() as client:
        allowed = client.request("vendor/status", {"verbose": True})
        denied = client.request("tools/execute", {})
    assert allowed["result"] == {"ran": "vendor/status"}
    assert denied["error"]["code"] == GATEWAY_DENIED
    assert [m["params"] for m in gw.ran("vendor/status")] == [{"verbose": True}]
    assert not gw.ran("tools/execute")


@pytest.mark.parametrize(
    "uri",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "file://localhost/etc/passwd",
        "file://LOCALHOST/etc/passwd",
        "file:////etc/passwd",
        "file:///%65tc/passwd",
        "file:///./etc/passwd",
        "file:/etc/passwd",
        "file:///srv/data/../../etc/passwd",
        "file:///srv/%2E%2E/etc/passwd",
    ],
)
def test_a_denied_resource_is_denied_in_every_spelling(make: Callable[..., Setup], uri: str) -> None:
    gw = make(policy=DENY_ETC)
    with gw.raw() as client:
        response = client.request("resources/read", {"uri": uri})
    assert response["error"]["code"] == GATEWAY_DENIED, response
    assert not gw.ran("resources/read")


def test_an_allowed_resource_is_sent_in_canonical_form_and_a_broken_uri_is_refused(
    make: Callable[..., Setup],
) -> None:
    gw = make(policy=DENY_ETC)
    with gw.raw() as client:
        read = client.request("resources/read", {"uri": "FILE://localhost/srv/./data/x/../notes.txt"})
        broken = [
            client.request("resources/read", {"uri": u})
            for u in ("file:///%zz", "file:///etc%2Fpasswd", "no-scheme")
        ]
    assert read["result"]["contents"][0]["text"] == "contents of file:///srv/data/notes.txt"
    assert [m["params"]["uri"] for m in gw.ran("resources/read")] == ["file:///srv/data/notes.txt"]
    assert [b["error"]["code"] for b in broken] == [INVALID_PARAMS] * 3


def test_who_may_not_read_a_resource_may_not_subscribe_or_complete_against_it(
    make: Callable[..., Setup],
) -> None:
    gw = make(policy=DENY_ETC)
    with gw.raw() as client:
        subscribe = client.request("resources/subscribe", {"uri": "file://localhost/etc/shadow"})
        unsubscribe = client.request("resources/unsubscribe", {"uri": "file:///etc/shadow"})
        complete = client.request(
            "completion/complete",
            {
                "ref": {"type": "ref/resource", "uri": "file:///%65tc/{name}"},
                "argument": {"name": "name", "value": "p"},
            },
        )
        allowed = client.request("resources/subscribe", {"uri": "file:///srv/data/readme.txt"})
    for response in (subscribe, unsubscribe, complete):
        assert response["error"]["code"] == GATEWAY_DENIED, response
    assert "result" in allowed
    assert [m["params"]["uri"] for m in gw.ran("resources/subscribe")] == ["file:///srv/data/readme.txt"]
    assert not gw.ran("resources/unsubscribe")
    assert not gw.ran("completion/complete")


def test_a_modern_listen_acknowledges_only_the_subscriptions_the_policy_allows(
    make: Callable[..., Setup],
) -> None:
    gw = make(policy=DENY_ETC)
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "side-door-tests", "version": "1"},
    }
    with gw.raw(initialize=False) as client:
        wanted = ["file:///etc/passwd", "FILE:///srv/data/readme.txt", "file:///%zz"]
        client.start_request(
            "subscriptions/listen", {"notifications": {"resourceSubscriptions": wanted}, "_meta": meta}
        )
        ack = client.next_message()
        # The gateway subscribes upstream once the client has its acknowledgement.
        deadline = time.monotonic() + 10
        while not gw.ran("resources/subscribe") and time.monotonic() < deadline:
            time.sleep(0.05)
    assert ack["method"] == "notifications/subscriptions/acknowledged"
    assert ack["params"]["notifications"]["resourceSubscriptions"] == ["file:///srv/data/readme.txt"]
    assert [m["params"]["uri"] for m in gw.ran("resources/subscribe")] == ["file:///srv/data/readme.txt"]


def test_logging_set_level_is_judged_as_a_method(make: Callable[..., Setup]) -> None:
    policy = """
version: 1
defaults: {read_only: allow, other: allow}
rules:
  - id: no-verbose-logs
    effect: deny
    methods: [logging/setLevel]
"""
    gw = make(policy=policy)
    with gw.raw() as client:
        response = client.request("logging/setLevel", {"level": "debug"})
    assert response["error"]["code"] == GATEWAY_DENIED
    assert response["error"]["data"]["code"] == "policy.denied"
    assert not gw.ran("logging/setLevel")


@pytest.mark.parametrize(
    "name", ["hostile__Read_File", "hostile__READ_FILE", "hostile__ｒｅａｄ_file", "hostile__read_ﬁle"]
)
def test_a_tool_name_that_only_looks_like_a_listed_one_is_refused(
    make: Callable[..., Setup], name: str
) -> None:
    gw = make()
    with gw.raw() as client:
        response = client.request("tools/call", {"name": name, "arguments": {"path": "x"}})
        prompt = client.request("prompts/get", {"name": "hostile__GREET", "arguments": {"name": "x"}})
        right = client.request("tools/call", {"name": "hostile__read_file", "arguments": {"path": "x"}})
    assert response["error"]["code"] == INVALID_PARAMS
    assert "only by case or Unicode form" in response["error"]["message"]
    assert prompt["error"]["code"] == INVALID_PARAMS
    assert right["result"]["content"][0]["text"] == "read_file ran on x"
    assert [m["params"]["name"] for m in gw.ran("tools/call")] == ["read_file"]
    assert not gw.ran("prompts/get")


def test_the_http_front_judges_every_shape_the_same_way(
    make: Callable[..., Setup], ostiary_command: list[str], spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    gw = make(policy=DENY_ETC)
    port = free_loopback_port()
    proc = spawn(
        [*ostiary_command, "serve", "--config", str(gw.config), "--host", "127.0.0.1", "--port", str(port)]
    )
    wait_for_port(port, proc)
    url = f"http://127.0.0.1:{port}/mcp"
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    with httpx2.Client(timeout=30.0) as http:
        hello = {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        }
        opened = http.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}, headers=headers
        )
        session = {
            **headers,
            "Mcp-Session-Id": opened.headers["mcp-session-id"],
            "MCP-Protocol-Version": "2025-11-25",
        }
        http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
        sneaked = http.post(
            url,
            json={
                "jsonrpc": "2.0",
                "method": "tools/call",
                "params": {"name": "hostile__read_file", "arguments": {}},
            },
            headers=session,
        )
        imitated = http.post(
            url, json={"jsonrpc": "2.0", "id": 2, "method": "Tools/Call", "params": {}}, headers=session
        )
        meta = {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        stateless = {**headers, "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/execute"}
        unknown = http.post(
            url,
            json={"jsonrpc": "2.0", "id": 3, "method": "tools/execute", "params": {"_meta": meta}},
            headers=stateless,
        )
        read = http.post(
            url,
            json={
                "jsonrpc": "2.0",
                "id": 4,
                "method": "resources/read",
                "params": {"uri": "file:///srv/../etc/passwd"},
            },
            headers=session,
        )
    assert sneaked.status_code == 202
    assert json.loads(imitated.text.split("data:")[-1])["error"]["code"] == INVALID_REQUEST
    assert json.loads(unknown.text.split("data:")[-1])["error"]["code"] == GATEWAY_DENIED
    assert json.loads(read.text.split("data:")[-1])["error"]["code"] == GATEWAY_DENIED
    assert not [
        m
        for m in gw.received()
        if m.get("method") in ("tools/call", "Tools/Call", "tools/execute", "resources/read")
    ]
