"""HTTP front checks that need no session: DNS-rebinding defences and 2026-07-28 header rules."""

import base64

import pytest

from ostiary import messages
from ostiary.client_side.http_checks import header_mismatch, host_allowed, origin_allowed
from ostiary.config import ListenConfig

LISTEN = ListenConfig(allowed_origins=["https://app.example.com"], allowed_hosts=["gw.internal"])


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        (None, True),
        ("http://localhost:5173", True),
        ("http://127.0.0.1", True),
        ("http://[::1]:8080", True),
        ("https://app.example.com", True),
        ("https://evil.example", False),
        ("http://localhost.evil.example", False),
        ("null", False),
    ],
)
def test_only_loopback_and_configured_origins_are_allowed(origin: str | None, ok: bool) -> None:
    assert origin_allowed(origin, LISTEN) is ok


@pytest.mark.parametrize(
    ("host", "ok"),
    [("127.0.0.1:8765", True), ("localhost", True), ("[::1]:8765", True), ("gw.internal", True),
     ("attacker.example:8765", False), (None, False)],
)  # fmt: skip
def test_a_rebound_host_name_is_refused(host: str | None, ok: bool) -> None:
    assert host_allowed(host, LISTEN) is ok


def _call(name: str) -> messages.Message:
    return messages.request(
        1, "tools/call", {"name": name, "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}
    )


def test_headers_that_mirror_the_body_pass() -> None:
    headers = {"mcp-method": "tools/call", "mcp-name": "echo", "mcp-protocol-version": "2026-07-28"}
    assert header_mismatch(_call("echo"), headers) is None


def test_a_base64_sentinel_name_is_decoded_before_comparing() -> None:
    name = "résumé"
    encoded = "=?base64?" + base64.b64encode(name.encode()).decode() + "?="
    assert header_mismatch(_call(name), {"mcp-method": "tools/call", "mcp-name": encoded}) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"mcp-name": "echo"},
        {"mcp-method": "tools/list", "mcp-name": "echo"},
        {"mcp-method": "tools/call"},
        {"mcp-method": "tools/call", "mcp-name": "delete_everything"},
        {"mcp-method": "tools/call", "mcp-name": "=?base64?!!!?="},
        {"mcp-method": "tools/call", "mcp-name": "echo", "mcp-protocol-version": "2025-11-25"},
    ],
)
def test_headers_that_disagree_with_the_body_are_a_mismatch(headers: dict[str, str]) -> None:
    assert header_mismatch(_call("echo"), headers) is not None
