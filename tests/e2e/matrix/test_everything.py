"""server-everything (the reference server of the TypeScript SDK) through every leg of the matrix.

Each test is one behaviour a host relies on; it runs directly against the server and through Ostiary
on stdio->stdio, HTTP->stdio, stdio->HTTP and HTTP->HTTP, with 2025-11-25 and 2026-07-28 clients.
Each leg keeps one connection for the module, as a host would.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from .checks import ProgressLog, all_tools, send_raw, text_of, walk_pages
from .held import HeldClient
from .topology import EVERYTHING_LEGS, Leg, Server, Topology, direct

SERVER = "everything"
LEGS = EVERYTHING_LEGS
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

UNICODE_TEXT = "grüße, 世界, مرحبا, 🦀🛡️, e\u0301, zero\u200bwidth, tab\tand\nnewline"
KIB = 1024


def test_every_list_walks_all_its_pages_without_losing_or_repeating_items(conn: HeldClient) -> None:
    async def check(client: Client) -> tuple[list[Any], ...]:
        tools = await all_tools(client)
        resources, _ = await walk_pages(lambda c: client.list_resources(cursor=c), "resources")
        templates, _ = await walk_pages(
            lambda c: client.list_resource_templates(cursor=c), "resource_templates"
        )
        prompts, _ = await walk_pages(lambda c: client.list_prompts(cursor=c), "prompts")
        return tools, resources, templates, prompts

    tools, resources, templates, prompts = conn.run(check)
    names = [tool.name for tool in tools]
    assert len(names) == len(set(names))
    assert {"echo", "get-sum", "get-structured-content", "trigger-long-running-operation"} <= set(names)
    uris = [resource.uri for resource in resources]
    assert len(uris) == len(set(uris))
    assert len(uris) >= 5
    assert all(uri.startswith("demo://resource/") for uri in uris)
    assert {t.uri_template for t in templates} == {
        "demo://resource/dynamic/text/{resourceId}",
        "demo://resource/dynamic/blob/{resourceId}",
    }
    assert {"simple-prompt", "args-prompt", "completable-prompt"} <= {p.name for p in prompts}


def test_the_host_learns_the_servers_capabilities_and_instructions(
    conn: HeldClient, leg: Leg, topology: Topology, server: Server
) -> None:
    async def learn(client: Client) -> tuple[dict[str, Any], str | None]:
        if client.protocol_version == "2026-07-28":
            # The SDK adopts 2026-07-28 without asking; ask the way a host that wants the details does.
            found = await client.session.send_discover("2026-07-28")
            return found["capabilities"], found.get("instructions")
        return client.server_capabilities.model_dump(by_alias=True, exclude_none=True), client.instructions

    capabilities, instructions = conn.run(learn)
    expected_capabilities, expected_instructions = topology.held(server, direct("stdio")).run(learn)
    assert instructions == expected_instructions
    assert instructions
    assert instructions.startswith("# Everything Server")
    for feature in ("tools", "prompts", "resources", "completions"):
        assert feature in capabilities, feature
    assert set(capabilities) <= set(expected_capabilities) | {"extensions"}


RICH_CALLS = (
    ("get-annotated-message", {"messageType": "success", "includeImage": True}),
    ("get-resource-links", {"count": 3}),
    ("get-resource-reference", {"resourceType": "Blob", "resourceId": 4}),
    ("get-tiny-image", {}),
    ("get-structured-content", {"location": "Los Angeles"}),
)


def relayed(model: Any) -> dict[str, Any]:
    """A result or definition as the host sees it, minus what each era adds on its own."""
    dumped: dict[str, Any] = model.model_dump(by_alias=True, exclude_none=True, mode="json")
    for added in ("_meta", "resultType", "ttlMs", "cacheScope"):
        dumped.pop(added, None)
    return dumped


def without_clock(result: dict[str, Any]) -> dict[str, Any]:
    """Embedded dynamic resources carry the second they were made; everything else must match."""
    for block in result["content"]:
        if block["type"] == "resource" and "blob" in block["resource"]:
            text = base64.b64decode(block["resource"]["blob"]).decode()
            block["resource"]["blob"] = re.sub(r"created at .*$", "created at <clock>", text)
    return result


def test_tool_definitions_reach_the_host_exactly_as_the_server_wrote_them(
    conn: HeldClient, topology: Topology, server: Server
) -> None:
    async def definitions(client: Client) -> dict[str, dict[str, Any]]:
        return {tool.name: relayed(tool) for tool in await all_tools(client)}

    assert conn.run(definitions) == topology.held(server, direct("stdio")).run(definitions)


def test_rich_tool_results_reach_the_host_exactly_as_the_server_wrote_them(
    conn: HeldClient, topology: Topology, server: Server
) -> None:
    async def results(client: Client) -> list[dict[str, Any]]:
        return [without_clock(relayed(await client.call_tool(name, args))) for name, args in RICH_CALLS]

    through, baseline = conn.run(results), topology.held(server, direct("stdio")).run(results)
    kinds = {block["type"] for result in baseline for block in result["content"]}
    assert {"text", "image", "resource", "resource_link"} <= kinds
    assert through == baseline


def test_echo_returns_unicode_text_unchanged(conn: HeldClient) -> None:
    result = conn.run(lambda c: c.call_tool("echo", {"message": UNICODE_TEXT}))
    assert not result.is_error
    assert text_of(result) == f"Echo: {UNICODE_TEXT}"


def test_echo_returns_a_256_kib_payload_intact(conn: HeldClient) -> None:
    block = "0123456789abcdef-ünï-🦀"
    payload = (block * (256 * KIB // len(block.encode()) + 1))[: 256 * KIB // 2] + "end"
    payload = payload + "x" * (256 * KIB - len(payload.encode()))
    assert len(payload.encode()) == 256 * KIB
    result = conn.run(lambda c: c.call_tool("echo", {"message": payload}))
    assert text_of(result) == f"Echo: {payload}"


def test_sixteen_concurrent_calls_each_get_their_own_answer(conn: HeldClient) -> None:
    answers: dict[int, str] = {}

    async def check(client: Client) -> list[str]:
        async def call(i: int) -> None:
            answers[i] = text_of(await client.call_tool("get-sum", {"a": i, "b": 1000 * i}))

        async with anyio.create_task_group() as group:
            for i in range(16):
                group.start_soon(call, i)
        return [text_of(await client.call_tool("echo", {"message": f"after-{i}"})) for i in range(2)]

    after = conn.run(check)
    assert sorted(answers) == list(range(16))
    for i, text in answers.items():
        assert text == f"The sum of {i} and {1000 * i} is {1001 * i}.", (i, text)
    assert after == ["Echo: after-0", "Echo: after-1"]


def test_structured_output_keeps_the_output_schema_and_the_structured_content(conn: HeldClient) -> None:
    async def check(client: Client) -> tuple[dict[str, types.Tool], types.CallToolResult]:
        tools = {tool.name: tool for tool in await all_tools(client)}
        return tools, await client.call_tool("get-structured-content", {"location": "Chicago"})

    tools, result = conn.run(check)
    schema = tools["get-structured-content"].output_schema
    assert schema is not None
    assert set(schema["properties"]) == {"temperature", "conditions", "humidity"}
    assert result.structured_content == {
        "temperature": 36,
        "conditions": "Light rain / drizzle",
        "humidity": 82,
    }
    assert json.loads(text_of(result)) == result.structured_content


def test_resources_read_static_and_templated_contents(conn: HeldClient) -> None:
    async def check(client: Client) -> tuple[Any, ...]:
        listed = (await client.list_resources()).resources
        return (
            listed,
            await client.read_resource(listed[0].uri),
            await client.read_resource("demo://resource/dynamic/text/7"),
            await client.read_resource("demo://resource/dynamic/blob/3"),
        )

    listed, static, dynamic, blob = conn.run(check)
    assert static.contents[0].uri == listed[0].uri
    assert isinstance(static.contents[0], types.TextResourceContents)
    assert static.contents[0].text
    assert isinstance(dynamic.contents[0], types.TextResourceContents)
    assert dynamic.contents[0].uri == "demo://resource/dynamic/text/7"
    assert "7" in dynamic.contents[0].text
    assert isinstance(blob.contents[0], types.BlobResourceContents)
    assert blob.contents[0].blob


def test_prompt_get_fills_in_the_arguments(conn: HeldClient) -> None:
    prompt = conn.run(lambda c: c.get_prompt("args-prompt", {"city": "Zürich", "state": "ZH"}))
    simple = conn.run(lambda c: c.get_prompt("simple-prompt"))
    texts = [m.content.text for m in prompt.messages if isinstance(m.content, types.TextContent)]
    assert any("Zürich" in text and "ZH" in text for text in texts)
    assert simple.messages


def test_completion_suggests_values_using_the_context_arguments(conn: HeldClient) -> None:
    ref = types.PromptReference(type="ref/prompt", name="completable-prompt")
    department = conn.run(lambda c: c.complete(ref, {"name": "department", "value": "E"}))
    member = conn.run(lambda c: c.complete(ref, {"name": "name", "value": ""}, {"department": "Sales"}))
    assert department.completion.values == ["Engineering"]
    assert member.completion.values == ["David", "Eve", "Frank"]


def test_progress_notifications_arrive_increasing_and_stop_before_the_result(conn: HeldClient) -> None:
    progress = ProgressLog()

    async def check(client: Client) -> types.CallToolResult:
        result = await client.call_tool(
            "trigger-long-running-operation", {"duration": 0.8, "steps": 4}, progress_callback=progress
        )
        progress.finished = True
        await client.call_tool("echo", {"message": "drain"})
        return result

    result = conn.run(check)
    assert "Steps: 4" in text_of(result)
    assert [p for p, _ in progress.seen] == [1, 2, 3, 4]
    assert all(total == 4 for _, total in progress.seen)
    assert progress.late == 0


def test_a_cancelled_call_gives_control_back_and_later_calls_still_work(conn: HeldClient) -> None:
    async def check(client: Client) -> tuple[bool, float, types.CallToolResult]:
        started = time.monotonic()
        with anyio.move_on_after(0.5) as scope:
            await client.call_tool("trigger-long-running-operation", {"duration": 3, "steps": 3})
        waited = time.monotonic() - started
        return scope.cancelled_caught, waited, await client.call_tool("echo", {"message": "still here"})

    cancelled, waited, after = conn.run(check)
    assert cancelled
    assert waited < 2.0
    assert text_of(after) == "Echo: still here"


def test_a_sampling_request_reaches_the_host_and_its_answer_returns(conn: HeldClient) -> None:
    result = conn.run(
        lambda c: c.call_tool("trigger-sampling-request", {"prompt": "say höla", "maxTokens": 33})
    )
    assert len(conn.host.sampling) == 1
    asked = conn.host.sampling[0]
    assert asked.max_tokens == 33
    assert any("say höla" in getattr(m.content, "text", "") for m in asked.messages)
    assert conn.host.sampled_text in text_of(result)


def test_four_concurrent_sampling_calls_each_get_the_answer_to_their_own_question(conn: HeldClient) -> None:
    async def check(client: Client) -> dict[int, str]:
        answers: dict[int, str] = {}

        async def call(i: int) -> None:
            arguments = {"prompt": f"question number {i}", "maxTokens": 40 + i}
            answers[i] = text_of(await client.call_tool("trigger-sampling-request", arguments))

        async with anyio.create_task_group() as group:
            for i in range(4):
                group.start_soon(call, i)
        return answers

    answers = conn.run(check)
    assert sorted(p.max_tokens for p in conn.host.sampling) == [40, 41, 42, 43]
    for i, text in answers.items():
        assert f"question number {i}]" in text, (i, text)
        assert all(f"question number {j}]" not in text for j in range(4) if j != i), (i, text)


def test_a_form_elicitation_reaches_the_host_and_its_answer_returns(conn: HeldClient) -> None:
    result = conn.run(lambda c: c.call_tool("trigger-elicitation-request", {}))
    assert len(conn.host.elicitation) == 1
    asked = conn.host.elicitation[0]
    assert isinstance(asked, types.ElicitRequestFormParams)
    assert asked.requested_schema["required"] == ["name"]
    assert "Name: Ada Lovelace" in text_of(result)


def test_a_url_elicitation_reaches_the_host_and_its_answer_returns(conn: HeldClient) -> None:
    url = "https://auth.example.com/consent?state=matrix"
    arguments = {"url": url, "message": "open it", "elicitationId": "matrix-1"}
    result = conn.run(lambda c: c.call_tool("trigger-url-elicitation", arguments))
    assert len(conn.host.elicitation) == 1
    asked = conn.host.elicitation[0]
    assert isinstance(asked, types.ElicitRequestURLParams)
    assert (asked.url, asked.elicitation_id) == (url, "matrix-1")
    assert "User completed the URL elicitation flow" in text_of(result)


def test_the_hosts_roots_reach_the_server(conn: HeldClient) -> None:
    result = conn.run(lambda c: c.call_tool("get-roots-list", {}))
    assert "file:///srv/matrix-root" in text_of(result)
    assert "matrix root" in text_of(result)


def test_an_unknown_method_is_answered_with_method_not_found(conn: HeldClient) -> None:
    async def check(client: Client) -> tuple[MCPError, types.CallToolResult]:
        with pytest.raises(MCPError) as raised:
            await send_raw(client, "matrix/no-such-method", {"x": 1})
        return raised.value, await client.call_tool("echo", {"message": "after error"})

    error, alive = conn.run(check)
    assert error.code == -32601
    assert text_of(alive) == "Echo: after error"


def test_an_unknown_tool_keeps_the_error_the_server_gave(conn: HeldClient) -> None:
    result = conn.run(lambda c: c.call_tool("no-such-tool", {}))
    assert result.is_error
    assert text_of(result) == "MCP error -32602: Tool no-such-tool not found"
