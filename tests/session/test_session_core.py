"""The session core in one event loop: routing, id remapping, cancellation, era bridging.

Each test builds the real gateway with `ostiary.testing.connect` and puts small MCP servers
written in Python on in-memory transports, so a broken router, id map or bridge fails here in
milliseconds, naming the part that broke.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ostiary import messages, methods
from ostiary.messages import JSON, Kind, Message
from ostiary.pipeline import Decision, Hook
from ostiary.testing import Client, ServerRun, ToolServer, connect, text

pytestmark = pytest.mark.timeout(20)

BARE: JSON = {"audit": {"enabled": False}, "inspections": []}


async def echo(params: JSON, run: ServerRun) -> JSON:
    return text(f"{run.server.name}:{params.get('arguments', {}).get('say', '')}")


def texts(response: Message) -> list[str]:
    assert response.kind is Kind.RESULT, response.raw
    return [block["text"] for block in response.result["content"]]


async def test_lists_merge_and_calls_reach_the_server_whose_prefix_they_carry() -> None:
    alpha = ToolServer({"say": echo}, name="alpha")
    beta = ToolServer({"say": echo, "only_beta": echo}, name="beta")
    async with connect(BARE, servers={"alpha": alpha, "beta": beta}) as client:
        await client.initialize()
        listed = await client.request(methods.TOOLS_LIST)
        names = sorted(tool["name"] for tool in listed.result["tools"])
        assert names == ["alpha__say", "beta__only_beta", "beta__say"]
        a = await client.request(methods.TOOLS_CALL, {"name": "alpha__say", "arguments": {"say": "hi"}})
        b = await client.request(methods.TOOLS_CALL, {"name": "beta__say", "arguments": {"say": "ho"}})
        assert texts(a) == ["alpha:hi"]
        assert texts(b) == ["beta:ho"]
        # Each server saw its own tool name, without the prefix.
        calls = [m.params["name"] for m in beta.received if m.method == methods.TOOLS_CALL]
        assert calls == ["say"]
        unknown = await client.request(methods.TOOLS_CALL, {"name": "gamma__say", "arguments": {}})
        assert unknown.kind is Kind.ERROR
        assert unknown.error["code"] == methods.INVALID_PARAMS


async def test_an_unknown_method_goes_to_the_only_server_and_is_refused_with_two() -> None:
    alpha = ToolServer({"say": echo}, name="alpha")
    async with connect(BARE, servers={"alpha": alpha}) as client:
        await client.initialize()
        response = await client.request("vendor/custom", {"x": 1})
        assert response.error["code"] == methods.METHOD_NOT_FOUND
        assert [m.method for m in alpha.received if m.method == "vendor/custom"] == ["vendor/custom"]
    two = {"alpha": ToolServer({"say": echo}), "beta": ToolServer({"say": echo})}
    async with connect(BARE, servers=two) as client:
        await client.initialize()
        response = await client.request("vendor/custom", {"x": 1})
        assert response.error["code"] == methods.METHOD_NOT_FOUND
        assert not any(m.method == "vendor/custom" for s in two.values() for m in s.received)


async def test_client_ids_come_back_and_servers_see_only_their_own() -> None:
    """Two requests with ids that collide on the server side ("7" and 7) keep them apart."""
    alpha = ToolServer({"say": echo}, name="alpha")
    async with connect(BARE, servers={"alpha": alpha}) as client:
        await client.initialize()
        await client.request(methods.TOOLS_LIST)
        first = client.start(methods.TOOLS_CALL, {"name": "alpha__say", "arguments": {"say": "s"}}, "7")
        second = client.start(methods.TOOLS_CALL, {"name": "alpha__say", "arguments": {"say": "i"}}, 7)
        by_string, by_int = await first, await second
        assert by_string.raw["id"] == "7"
        assert by_int.raw["id"] == 7
        assert texts(by_string) == ["alpha:s"]
        assert texts(by_int) == ["alpha:i"]
        server_ids = [m.id for m in alpha.received if m.kind is Kind.REQUEST]
        assert all(isinstance(i, int) for i in server_ids)
        assert len(set(server_ids)) == len(server_ids)
        assert "7" not in server_ids


async def test_a_duplicate_request_id_in_flight_is_refused() -> None:
    gate = asyncio.Event()

    async def slow(params: JSON, run: ServerRun) -> JSON:
        await gate.wait()
        return text("done")

    alpha = ToolServer({"slow": slow})
    async with connect(BARE, servers={"alpha": alpha}) as client:
        await client.initialize()
        first = client.start(methods.TOOLS_CALL, {"name": "alpha__slow", "arguments": {}}, 5)
        await asyncio.sleep(0.05)
        duplicate = client.start(methods.TOOLS_CALL, {"name": "alpha__slow", "arguments": {}}, 5)
        refused = await asyncio.wait_for(asyncio.shield(first), 5)
        # The duplicate's error comes first, under id 5; the first call's result follows.
        assert refused.kind is Kind.ERROR
        assert refused.error["code"] == methods.INVALID_REQUEST
        gate.set()
        assert texts(await duplicate) == ["done"]
        assert len([m for m in alpha.received if m.method == methods.TOOLS_CALL]) == 1


async def test_progress_tokens_are_the_servers_own_and_come_back_as_the_clients() -> None:
    async def progressing(params: JSON, run: ServerRun) -> JSON:
        token = params["_meta"]["progressToken"]
        await run.notify(methods.PROGRESS, {"progressToken": token, "progress": 1, "total": 2})
        return text(f"token={token}")

    alpha = ToolServer({"work": progressing})
    async with connect(BARE, servers={"alpha": alpha}) as client:
        await client.initialize()
        response = await client.request(
            methods.TOOLS_CALL,
            {"name": "alpha__work", "arguments": {}, "_meta": {"progressToken": "client-token"}},
        )
        server_token = texts(response)[0].removeprefix("token=")
        assert server_token != "client-token"
        progress = [n for n in client.notifications if n.method == methods.PROGRESS]
        assert [p.params["progressToken"] for p in progress] == ["client-token"]


async def test_cancelling_a_call_cancels_it_on_the_server_under_the_servers_id() -> None:
    started = asyncio.Event()

    async def forever(params: JSON, run: ServerRun) -> JSON:
        started.set()
        await asyncio.Event().wait()
        return text("never")

    alpha = ToolServer({"wait": forever})
    async with connect(BARE, servers={"alpha": alpha}) as client:
        await client.initialize()
        pending = client.start(methods.TOOLS_CALL, {"name": "alpha__wait", "arguments": {}}, "c1")
        await asyncio.wait_for(started.wait(), 5)
        await client.notify(methods.CANCELLED, {"requestId": "c1", "reason": "user"})
        run = alpha.runs[-1]
        for _ in range(100):
            if run.cancelled:
                break
            await asyncio.sleep(0.01)
        call_ids = [m.id for m in run.received if m.method == methods.TOOLS_CALL]
        assert run.cancelled == call_ids
        assert not pending.done()  # a cancelled request gets no response, as the protocol requires
        assert client.session is not None and not client.session.calls


async def test_a_legacy_servers_question_reaches_a_legacy_client_and_its_answer_returns() -> None:
    async def asks(params: JSON, run: ServerRun) -> JSON:
        answer = await run.ask("elicitation/create", {"message": "name?", "requestedSchema": {}})
        return text(str(answer.result.get("content")))

    alpha = ToolServer({"ask": asks})
    async with connect(BARE, servers={"alpha": alpha}) as client:

        async def reply(request: Message) -> JSON:
            return {"action": "accept", "content": {"name": "Ada"}}

        client.on_request = reply
        await client.initialize(capabilities={"elicitation": {}})
        response = await client.request(methods.TOOLS_CALL, {"name": "alpha__ask", "arguments": {}})
        assert texts(response) == ["{'name': 'Ada'}"]
        # The client was asked under an id the gateway chose, not the server's "ask-1".
        assert [m.method for m in client.asked] == ["elicitation/create"]
        assert client.asked[0].id != "ask-1"


async def test_a_modern_client_meets_a_legacy_servers_question_as_input_required() -> None:
    async def asks(params: JSON, run: ServerRun) -> JSON:
        answer = await run.ask("elicitation/create", {"message": "name?", "requestedSchema": {}})
        return text(str(answer.result.get("content")))

    alpha = ToolServer({"ask": asks}, era="legacy")
    async with connect(BARE, servers={"alpha": alpha}) as client:
        call = Client.modern({"name": "alpha__ask", "arguments": {}}, {"elicitation": {}})
        first = await client.request(methods.TOOLS_CALL, call)
        assert first.result["resultType"] == "input_required", first.raw
        ((key, ask),) = first.result["inputRequests"].items()
        assert ask["method"] == "elicitation/create"
        retry = {
            **call,
            "inputResponses": {key: {"action": "accept", "content": {"name": "Ada"}}},
            "requestState": first.result["requestState"],
        }
        final = await client.request(methods.TOOLS_CALL, retry)
        assert texts(final) == ["{'name': 'Ada'}"]
        assert final.result["resultType"] == "complete"
        # The server heard one call: the retry resumed it rather than calling again.
        assert len([m for m in alpha.received if m.method == methods.TOOLS_CALL]) == 1


SAMPLE: JSON = {"messages": [], "maxTokens": 1}


async def test_an_input_required_result_the_pipeline_refuses_ends_its_parked_call() -> None:
    """The call that asked holds the connection's turn until it ends: a result the client never
    gets (here: its audit record cannot be written) must end it, or every later call waits."""

    async def asks(params: JSON, run: ServerRun) -> JSON:
        answer = await run.ask("sampling/createMessage", SAMPLE)
        return text(str(answer.raw))

    class CannotRecordQuestions:
        async def observe(self, decision: Decision) -> None:
            if decision.hook is Hook.SERVER_RESPONSE and decision.message.result.get("resultType") == (
                "input_required"
            ):
                raise RuntimeError("the audit store is gone")

    alpha = ToolServer({"ask": asks, "say": echo}, era="legacy", name="alpha")
    async with connect(BARE, servers={"alpha": alpha}, observers=[CannotRecordQuestions()]) as client:
        capabilities = {"sampling": {}}
        asked = await client.request(methods.TOOLS_CALL, Client.modern({"name": "alpha__ask"}, capabilities))
        assert asked.result.get("isError") is True, asked.raw
        assert "requestState" not in asked.result
        said = await client.request(
            methods.TOOLS_CALL,
            Client.modern({"name": "alpha__say", "arguments": {"say": "hi"}}, capabilities),
        )
        assert texts(said) == ["alpha:hi"]
    # The server's question was answered (with an error) rather than left waiting.
    (run,) = alpha.runs
    answered = [m for m in run.received if m.kind is Kind.ERROR and m.id == "ask-1"]
    assert len(answered) == 1, run.received


async def test_a_question_on_a_finished_requests_stream_is_not_given_to_another_call() -> None:
    """Streamable HTTP says which request a server's question belongs to (the stream it came
    on): one for a request that is over is nobody's, even if a single other call is waiting."""

    async def quick(params: JSON, run: ServerRun) -> JSON:
        return text("done")

    async def asks(params: JSON, run: ServerRun) -> JSON:
        finished = next(m.id for m in run.received if m.params.get("name") == "quick")
        late = messages.request("late-1", "roots/list")
        late.related = finished
        await run.transport.send(late)
        answer = await run.ask("sampling/createMessage", SAMPLE)
        return text(str(answer.result.get("model")))

    alpha = ToolServer({"quick": quick, "ask": asks}, era="legacy")
    async with connect(BARE, servers={"alpha": alpha}) as client:
        capabilities = {"sampling": {}, "roots": {}}
        done = await client.request(methods.TOOLS_CALL, Client.modern({"name": "alpha__quick"}, capabilities))
        assert texts(done) == ["done"]
        call = Client.modern({"name": "alpha__ask", "arguments": {}}, capabilities)
        first = await client.request(methods.TOOLS_CALL, call)
        assert first.result["resultType"] == "input_required", first.raw
        assert [q["method"] for q in first.result["inputRequests"].values()] == ["sampling/createMessage"]
        ((key, _),) = first.result["inputRequests"].items()
        retry = {
            **call,
            "inputResponses": {
                key: {"role": "assistant", "content": {"type": "text", "text": "x"}, "model": "m"}
            },
            "requestState": first.result["requestState"],
        }
        final = await client.request(methods.TOOLS_CALL, retry)
        assert texts(final) == ["m"]
    (run,) = alpha.runs
    refused = [m for m in run.received if m.id == "late-1"]
    assert [m.kind for m in refused] == [Kind.ERROR]


async def test_a_legacy_client_answers_a_modern_servers_input_request_and_the_server_is_retried() -> None:
    async def asks(params: JSON, run: ServerRun) -> JSON:
        answers: Any = params.get("inputResponses")
        if not answers:
            question = {"method": "elicitation/create", "params": {"message": "name?", "requestedSchema": {}}}
            return {"resultType": "input_required", "inputRequests": {"q": question}, "requestState": "s1"}
        assert params.get("requestState") == "s1"
        return {**text(str(answers["q"]["content"])), "resultType": "complete"}

    alpha = ToolServer({"ask": asks}, era="modern")
    async with connect(BARE, servers={"alpha": alpha}) as client:

        async def reply(request: Message) -> JSON:
            return {"action": "accept", "content": {"name": "Ada"}}

        client.on_request = reply
        await client.initialize(capabilities={"elicitation": {}})
        response = await client.request(methods.TOOLS_CALL, {"name": "alpha__ask", "arguments": {}})
        assert texts(response) == ["{'name': 'Ada'}"]
        assert "resultType" not in response.result  # a 2025-era client never sees it
        handshakes = [m.method for m in alpha.received if m.method in (methods.DISCOVER, methods.INITIALIZE)]
        # The client's era first, the other as the fallback the server accepted.
        assert handshakes == [methods.INITIALIZE, methods.DISCOVER]


async def test_results_are_shaped_for_the_clients_era() -> None:
    alpha = ToolServer({"say": echo}, name="alpha")
    async with connect(BARE, servers={"alpha": alpha}) as client:
        listed = await client.request(methods.TOOLS_LIST, Client.modern())
        assert listed.result["resultType"] == "complete"
        assert listed.result["cacheScope"] == "private"
    async with connect(BARE, servers={"alpha": ToolServer({"say": echo})}) as client:
        await client.initialize()
        listed = await client.request(methods.TOOLS_LIST)
        assert not {"resultType", "cacheScope", "ttlMs"} & set(listed.result)


async def test_a_request_before_the_handshake_is_refused() -> None:
    async with connect(BARE, servers={"alpha": ToolServer({"say": echo})}) as client:
        response = await client.request(methods.TOOLS_LIST)
        assert response.error["code"] == methods.INVALID_REQUEST


async def test_a_denying_inspection_stops_the_call_before_the_server() -> None:
    config = {**BARE, "inspections": [{"name": "toolfilter"}], "servers": {}}
    alpha = ToolServer({"say": echo, "rm": echo})
    config["servers"] = {"alpha": {"command": "memory:alpha", "tools": {"deny": ["rm"]}}}
    async with connect(config, servers={"alpha": alpha}) as client:
        await client.initialize()
        listed = await client.request(methods.TOOLS_LIST)
        assert [t["name"] for t in listed.result["tools"]] == ["alpha__say"]
        denied = await client.request(methods.TOOLS_CALL, {"name": "alpha__rm", "arguments": {}})
        # The model reads the refusal as a tool result, the stable code in `_meta`.
        assert denied.result["isError"] is True
        assert denied.result["_meta"]["ostiary/denial"]["inspection"] == "toolfilter"
        assert not [m for m in alpha.received if m.params.get("name") == "rm"]


async def test_with_the_audit_log_on_each_decision_is_recorded_without_the_secret_it_carried() -> None:
    alpha = ToolServer({"say": echo}, name="alpha")
    config = {"inspections": [{"name": "toolfilter"}, {"name": "secrets", "action": "redact"}]}
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    async with connect(config, servers={"alpha": alpha}) as client:
        await client.initialize()
        response = await client.request(
            methods.TOOLS_CALL, {"name": "alpha__say", "arguments": {"say": f"token {secret}"}}
        )
        assert response.kind is Kind.RESULT
        store = client.gateway.store
        assert store is not None  # a scratch store: the configuration names none
        rows: list[Any] = []
        for _ in range(50):  # records are chained in batches, within a quarter of a second
            rows = [row async for row in store.audit_rows("main")]
            if any(methods.TOOLS_CALL in row.body for row in rows):
                break
            await asyncio.sleep(0.1)
        calls = [row for row in rows if methods.TOOLS_CALL in row.body]
        assert calls, "no record of the call"
        assert all(secret not in row.body for row in rows)
