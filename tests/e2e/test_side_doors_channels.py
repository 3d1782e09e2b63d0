"""A name keeps its meaning, every channel a model or a human reads is scanned, and floods are
bounded: the test kit's hostile server plays each attack behind `ostiary run`, and a real SDK
client (or, where the attack needs a client that misbehaves too, a raw one) sees what gets through.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile_gateway import Setup, setup
from mcp import types
from mcp.shared.exceptions import MCPError
from rawstdio import RawStdioClient

from ostiary.testing.hostile_server import GROWN_ENV, INJECTION, LEAKED_KEY, LEAKED_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

GATEWAY_DENIED = -32010
SCANNED = [{"name": "injection", "action": "block"}, {"name": "secrets", "action": "redact"}]


@pytest.fixture
def make(tmp_path: Path, ostiary_command: list[str]) -> Callable[..., Setup]:
    def build(**options: Any) -> Setup:
        return setup(tmp_path, ostiary_command, **options)

    return build


def exchange(
    client: RawStdioClient,
    method: str,
    params: dict[str, Any],
    answer: Callable[[dict[str, Any]], Any] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Send one request; return its response and everything the gateway sent meanwhile, answering
    the gateway's own requests with `answer` (or leaving them unanswered)."""
    request_id = client.start_request(method, params)
    seen: list[dict[str, Any]] = []
    while True:
        message = client.next_message(30.0)
        if message.get("id") == request_id and "method" not in message:
            return message, seen
        seen.append(message)
        if answer is not None and "method" in message and "id" in message:
            client.send({"jsonrpc": "2.0", "id": message["id"], "result": answer(message)})


def names(client: RawStdioClient) -> set[str]:
    return {t["name"] for t in client.request("tools/list")["result"]["tools"]}


# ---------------------------------------------------------------------------- a name keeps its meaning


def test_a_newcomer_never_takes_the_name_of_a_tool_seen_before_it(make: Callable[..., Setup]) -> None:
    gw = make()
    with gw.raw() as client:
        assert "hostile__read_file" in names(client)
        client.call_tool("hostile__grow", {})
        before = names(client)
        called = client.call_tool("hostile__read_file", {"path": "notes"})
    assert called["result"]["content"][0]["text"] == "read_file ran on notes"
    newcomer = [n for n in before if n.startswith("hostile__read_file-")]
    assert len(newcomer) == 1, before


def test_a_pinned_tool_keeps_its_name_in_a_later_session_when_a_look_alike_is_listed_first(
    make: Callable[..., Setup], tmp_path: Path, ostiary_command: list[str]
) -> None:
    first = make()
    with first.raw() as client:
        assert "hostile__read_file" in names(client)
    later = setup(
        tmp_path,
        ostiary_command,
        server={"env": {GROWN_ENV: "1", "OSTIARY_HOSTILE_RECORD": str(first.record)}},
    )
    with later.raw() as client:
        listed = names(client)
        called = client.call_tool("hostile__read_file", {"path": "notes"})
    assert called["result"]["content"][0]["text"] == "read_file ran on notes"
    assert any(n.startswith("hostile__read_file-") for n in listed)
    assert later.audit("--code", "pinning.collision")


def test_a_change_to_a_tools_meta_alone_is_quarantined_like_any_definition_change(
    make: Callable[..., Setup],
) -> None:
    gw = make()
    with gw.raw() as client:
        assert "hostile__weather" in names(client)
        client.call_tool("hostile__rewrite_meta", {})
        after = names(client)
        refused = client.call_tool("hostile__weather", {"city": "Lisbon"})
    assert "hostile__weather" not in after
    assert refused["error"]["data"]["code"] == "pinning.quarantined"
    assert not [m for m in gw.ran("tools/call") if m["params"]["name"] == "weather"]


# ---------------------------------------------------------------------------- every channel is scanned


async def test_log_messages_and_progress_are_scanned(make: Callable[..., Setup]) -> None:
    gw = make(inspections=SCANNED)
    logged: list[Any] = []
    progress: list[str | None] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logged.append(params.data)

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    async with gw.sdk(mode="legacy", logging_callback=on_log) as client:
        result = await client.call_tool("hostile__chatty", {}, progress_callback=on_progress)
    assert result.content[0].text == "done"  # type: ignore[union-attr]
    seen = json.dumps([logged, progress])
    assert "Ignore all previous instructions" not in seen
    assert LEAKED_PASSWORD not in seen
    assert LEAKED_KEY not in seen
    assert logged == [
        {"config": "postgresql://app:[REDACTED:secret.connection_password]@db.internal:5432/orders"}
    ]
    assert progress == ["[REDACTED:secret.aws-access-token]"]
    blocked = {r["event"]["action"] for r in gw.audit("--code", "injection.blocked")}
    assert blocked == {"notifications/message", "notifications/progress"}


async def test_an_elicitation_carrying_an_injection_never_reaches_the_user(
    make: Callable[..., Setup],
) -> None:
    gw = make(inspections=SCANNED)
    asked: list[Any] = []

    async def on_elicit(context: Any, params: Any) -> types.ElicitResult:
        asked.append(params)
        return types.ElicitResult(action="decline")

    async with gw.sdk(mode="legacy", elicitation_callback=on_elicit) as client:
        result = await client.call_tool("hostile__elicit", {})
    assert asked == []
    assert "injection.blocked" in result.content[0].text  # type: ignore[union-attr]


async def test_completions_result_meta_and_errors_are_scanned(make: Callable[..., Setup]) -> None:
    gw = make(inspections=SCANNED)
    async with gw.sdk(mode="legacy") as client:
        with pytest.raises(MCPError) as completion:
            await client.complete(
                types.ResourceTemplateReference(uri="file:///{path}"), {"name": "path", "value": "r"}
            )
        with pytest.raises(MCPError) as meta:
            await client.call_tool("hostile__meta_leak", {})
        with pytest.raises(MCPError) as error:
            await client.call_tool("hostile__fail", {})
    for raised in (completion, meta, error):
        assert raised.value.code == GATEWAY_DENIED
        assert raised.value.error.data["code"] == "injection.blocked"
        assert INJECTION not in raised.value.error.message


async def test_secrets_in_result_meta_and_completions_are_redacted(make: Callable[..., Setup]) -> None:
    gw = make(inspections=[{"name": "secrets", "action": "redact"}])
    async with gw.sdk(mode="legacy") as client:
        meta = await client.call_tool("hostile__meta_leak", {})
        completion = await client.complete(
            types.ResourceTemplateReference(uri="file:///{path}"), {"name": "path", "value": "r"}
        )
    assert meta.meta is not None
    assert meta.meta["key"] == "[REDACTED:secret.aws-access-token]"
    assert LEAKED_PASSWORD not in json.dumps(completion.completion.values)


def test_client_secrets_in_prompt_arguments_completions_and_meta_never_reach_the_server(
    make: Callable[..., Setup],
) -> None:
    gw = make(inspections=[{"name": "secrets", "action": "redact"}])
    with gw.raw() as client:
        client.request("prompts/get", {"name": "hostile__greet", "arguments": {"name": LEAKED_KEY}})
        client.request(
            "completion/complete",
            {
                "ref": {"type": "ref/prompt", "name": "hostile__greet"},
                "argument": {"name": "name", "value": LEAKED_KEY},
            },
        )
        client.request(
            "tools/call",
            {"name": "hostile__weather", "arguments": {"city": "Oslo"}, "_meta": {"auth": LEAKED_KEY}},
        )
    received = json.dumps(gw.received())
    assert LEAKED_KEY not in received
    # A credential the client sends is blocked by default, in whichever part of the request.
    assert len(gw.ran("prompts/get")) == len(gw.ran("completion/complete")) == len(gw.ran("tools/call")) == 0


# ---------------------------------------------------------------------------- floods are bounded


def test_notifications_inside_one_call_are_bounded_and_recorded_once(make: Callable[..., Setup]) -> None:
    gw = make(limits={"server_notifications_per_call": 50})
    with gw.raw() as client:
        response, seen = exchange(
            client, "tools/call", {"name": "hostile__flood", "arguments": {"count": 2000}}
        )
    assert response["result"]["content"][0]["text"] == "sent 2000"
    assert len([m for m in seen if m.get("method") == "notifications/message"]) == 50
    assert len(gw.audit("--code", "flood.notifications")) == 1
    assert len([r for r in gw.audit() if r["event"]["action"] == "notifications/message"]) == 51


def test_progress_is_coalesced_in_the_audit_log(make: Callable[..., Setup]) -> None:
    gw = make()
    params = {"name": "hostile__flood", "arguments": {"count": 200}, "_meta": {"progressToken": "p"}}
    with gw.raw() as client:
        response, seen = exchange(client, "tools/call", params)
    assert "result" in response
    assert len([m for m in seen if m.get("method") == "notifications/progress"]) == 200
    recorded = [r for r in gw.audit() if r["event"]["action"] == "notifications/progress"]
    assert 1 <= len(recorded) <= 4


def test_a_server_request_the_client_did_not_enable_is_refused(make: Callable[..., Setup]) -> None:
    gw = make()
    with gw.raw(capabilities={}) as client:
        response, seen = exchange(client, "tools/call", {"name": "hostile__ask", "arguments": {"count": 3}})
    assert response["result"]["content"][0]["text"] == "answered 0"
    assert not [m for m in seen if m.get("method") == "sampling/createMessage"]
    assert len(gw.audit("--code", "gateway.capability_not_enabled")) == 3


def test_server_requests_inside_one_call_are_bounded(make: Callable[..., Setup]) -> None:
    gw = make()
    sample = {"role": "assistant", "content": {"type": "text", "text": "yes"}, "model": "m"}
    with gw.raw(capabilities={"sampling": {}}) as client:
        response, seen = exchange(
            client, "tools/call", {"name": "hostile__ask", "arguments": {"count": 30}}, lambda _: sample
        )
    assert response["result"]["content"][0]["text"] == "answered 16"
    assert len([m for m in seen if m.get("method") == "sampling/createMessage"]) == 16
    assert len(gw.audit("--code", "flood.requests")) == 1
