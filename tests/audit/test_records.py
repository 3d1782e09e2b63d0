"""What the records of one exchange share, and what tells exchanges apart."""

from __future__ import annotations

from ostiary import messages
from ostiary.audit.record import record_of
from ostiary.identity import Principal
from ostiary.pipeline import Exchange, Hook, Pipeline

TOKEN = "ghp_" + "a" * 36  # credential-shaped: never stored raw


def _exchange(request_id: int, target: str = "echo") -> Exchange:
    request = messages.request(request_id, "tools/call", {"name": target, "arguments": {"n": 1}})
    return Exchange(
        Principal("alice", method="oauth"),
        "session-1",
        "tools/call",
        server="srv",
        target=target,
        request=request,
        client_info={"name": "host", "version": "2.0", "extra": "not recorded"},
        protocol_version="2025-11-25",
    )


async def _records(exchange: Exchange) -> tuple[dict[str, object], dict[str, object]]:
    pipeline = Pipeline()
    assert exchange.request is not None
    asked = await pipeline.run(Hook.CLIENT_REQUEST, exchange.request, exchange)
    answer = messages.result(exchange.request.id, {"content": [{"type": "text", "text": "ok"}]})
    answered = await pipeline.run(Hook.SERVER_RESPONSE, answer, exchange)
    return record_of(asked), record_of(answered)


async def test_a_request_and_its_response_are_recorded_as_one_exchange():
    request, response = await _records(_exchange(7))
    shared = ("exchange", "session", "principal", "principal_method", "client", "protocol", "server")
    shared += ("target",)
    assert {k: request[k] for k in shared} == {k: response[k] for k in shared}
    assert request["client"] == {"name": "host", "version": "2.0"}
    assert (request["request_id"], response["request_id"]) == ("7", "7")
    assert (request["hook"], response["hook"]) == ("on_client_request", "on_server_response")
    assert "args_digest" in request and "result_digest" in response


async def test_every_exchange_has_its_own_id():
    ids = set()
    for n in range(200):
        request, response = await _records(_exchange(n))
        assert request["exchange"] == response["exchange"]
        ids.add(request["exchange"])
    assert len(ids) == 200
    assert all(isinstance(i, str) and len(i) == 32 for i in ids)


async def test_a_credential_in_the_target_is_redacted_on_both_records():
    request, response = await _records(_exchange(1, target=f"call-{TOKEN}"))
    for record in (request, response):
        assert TOKEN not in str(record["target"])


async def test_a_server_request_without_a_client_request_keeps_its_own_id():
    exchange = Exchange(Principal("alice"), "session-1", "sampling/createMessage", server="srv")
    decision = await Pipeline().run(
        Hook.SERVER_REQUEST, messages.request(41, "sampling/createMessage", {"messages": []}), exchange
    )
    assert record_of(decision)["request_id"] == "41"
