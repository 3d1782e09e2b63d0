"""The router alone, behind its `Servers` seam: which server gets a request, how lists merge."""

from __future__ import annotations

from collections.abc import Mapping

from ostiary import messages, methods
from ostiary.messages import JSON, Kind, Message
from ostiary.server_side.hello import Era
from ostiary.session.call import Call
from ostiary.session.catalog import Catalog
from ostiary.session.routing import Router


class Servers:
    """Two servers whose answers are scripted; every request forwarded is recorded."""

    def __init__(self, pages: dict[str, list[JSON]]) -> None:
        self.pages = pages
        self.sent: list[tuple[str, str, JSON]] = []
        self.era: Era | None = "legacy"

    @property
    def connections(self) -> Mapping[str, object]:
        return dict.fromkeys(self.pages, object())

    def live(self) -> Mapping[str, object]:
        return self.connections

    def offering(self, capability: str) -> list[str]:
        return list(self.pages)

    async def forward(
        self,
        call: Call,
        server: str,
        params: JSON,
        target: str | None = None,
        definition: JSON | None = None,
        method: str | None = None,
    ) -> Message:
        method = method or call.message.method
        self.sent.append((server, method, params))
        if method == methods.TOOLS_CALL:
            return messages.result(call.client_id, {"content": [], "server": server})
        page = self.pages[server].pop(0)
        return messages.result(call.client_id, page)


def call(method: str, params: JSON | None = None, request_id: int = 1) -> Call:
    return Call(request_id, messages.request(request_id, method, params), "legacy")


def tool(name: str) -> JSON:
    return {"name": name, "inputSchema": {"type": "object"}}


async def test_lists_merge_across_servers_and_the_cursor_asks_only_those_with_more() -> None:
    servers = Servers(
        {
            "a": [{"tools": [tool("one")], "nextCursor": "a-page-2"}, {"tools": [tool("two")]}],
            "b": [{"tools": [tool("three")]}],
        }
    )
    router = Router(servers, Catalog({"a": "a", "b": "b"}))
    first = await router.list(call(methods.TOOLS_LIST))
    assert [t["name"] for t in first.result["tools"]] == ["a__one", "b__three"]
    cursor = first.result["nextCursor"]
    assert "a-page-2" not in cursor  # the client sees one opaque cursor, not the servers' own
    second = await router.list(call(methods.TOOLS_LIST, {"cursor": cursor}, 2))
    assert [t["name"] for t in second.result["tools"]] == ["a__two"]
    assert "nextCursor" not in second.result
    assert servers.sent[-1] == ("a", methods.TOOLS_LIST, {"cursor": "a-page-2"})


async def test_a_namespaced_call_goes_to_its_server_under_the_servers_own_name() -> None:
    servers = Servers({"a": [{"tools": [tool("one")]}], "b": [{"tools": [tool("one")]}]})
    router = Router(servers, Catalog({"a": "a", "b": "b"}))
    await router.list(call(methods.TOOLS_LIST))
    response = await router.named_call(call(methods.TOOLS_CALL, {"name": "b__one", "arguments": {}}, 3))
    assert response.kind is Kind.RESULT
    assert response.result["server"] == "b"
    assert servers.sent[-1] == ("b", methods.TOOLS_CALL, {"name": "one", "arguments": {}})


async def test_an_unknown_method_is_relayed_only_when_one_server_could_take_it() -> None:
    one = Servers({"a": [{"anything": True}]})
    relayed = await Router(one, Catalog({"a": "a"})).unknown(call("vendor/thing", {"x": 1}))
    assert relayed.result == {"anything": True}
    two = Servers({"a": [], "b": []})
    refused = await Router(two, Catalog({"a": "a", "b": "b"})).unknown(call("vendor/thing"))
    assert refused.error["code"] == methods.METHOD_NOT_FOUND
    assert two.sent == []
