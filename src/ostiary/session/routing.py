"""Which server a client request goes to, by kind of request.

Lists go to every server that offers them and are merged; tools and prompts go to the server
whose namespaced name they carry; resources to the server that listed the URI or whose template
matches it; anything Ostiary does not know goes to the only server, if there is only one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from ostiary import messages, methods
from ostiary.messages import JSON, Kind, Message, ProtocolError
from ostiary.server_side.hello import Era
from ostiary.session.call import Call
from ostiary.session.catalog import LIST_CAPABILITY, LIST_KEYS, Catalog, decode_cursor, encode_cursor
from ostiary.uris import UriError, canonical_uri

log = logging.getLogger("ostiary.routing")

NAMED_CALLS = {methods.TOOLS_CALL: methods.TOOLS_LIST, methods.PROMPTS_GET: methods.PROMPTS_LIST}
URI_CALLS = frozenset({methods.RESOURCES_READ, methods.RESOURCES_SUBSCRIBE, methods.RESOURCES_UNSUBSCRIBE})
MAX_PAGES = 64


class Servers(Protocol):
    """What the router needs of its session: the servers, which of them offer what, and a way to
    send a request to one of them through the pipeline. The session is one; a test can be another."""

    @property
    def era(self) -> Era | None:
        """The client's era, once known."""

    @property
    def connections(self) -> Mapping[str, object]:
        """Every enabled server of the configuration, by name."""

    def live(self) -> Mapping[str, object]:
        """The servers that are up (or were) and not withheld, in configuration order."""

    def offering(self, capability: str) -> list[str]:
        """The live servers that declared a capability, in configuration order."""

    async def forward(
        self,
        call: Call,
        server: str,
        params: JSON,
        target: str | None = None,
        definition: JSON | None = None,
        method: str | None = None,
    ) -> Message:
        """One request to one server, through the pipeline both ways, answered under the client's id."""


class Router:
    def __init__(self, session: Servers, catalog: Catalog) -> None:
        self.session = session
        self.catalog = catalog

    async def list(self, call: Call) -> Message:
        """One page from every server at once, merged; the cursor carries each server's own."""
        method = call.message.method
        key = LIST_KEYS[method]
        capability = LIST_CAPABILITY[method]
        order = self.session.offering(capability)
        params = {k: v for k, v in call.message.params.items() if k != "cursor"}
        if "cursor" in call.message.params:
            pending: dict[str, str | None] = dict(decode_cursor(call.message.params["cursor"], order))
        else:
            pending = dict.fromkeys(order)
        if not pending:
            return messages.result(call.client_id, {key: []})
        servers = list(pending)
        pages = await asyncio.gather(
            *(
                self.session.forward(
                    call, s, params if pending[s] is None else {**params, "cursor": pending[s]}
                )
                for s in servers
            )
        )
        if len(servers) == 1 and pages[0].kind is not Kind.RESULT:
            return pages[0]
        items: list[Any] = []
        more: dict[str, str] = {}
        out: JSON = {}
        for server, page in zip(servers, pages, strict=True):
            if page.kind is not Kind.RESULT:
                log.warning("server %s: %s failed; listing the others", server, method)
                continue
            result = page.result
            nxt = result.get("nextCursor")
            raw = result.get(key)
            items.extend(
                self.catalog.record_page(
                    server, method, raw if isinstance(raw, list) else [], not isinstance(nxt, str)
                )
            )
            if isinstance(nxt, str):
                more[server] = nxt
            if len(servers) == 1:  # one server: keep whatever else its result carried
                out = {k: v for k, v in result.items() if k not in (key, "nextCursor")}
        out[key] = items
        if more:
            out["nextCursor"] = encode_cursor(more)
        return messages.result(call.client_id, out)

    async def resolve_named(self, list_method: str, exposed: object) -> tuple[str, str]:
        if not isinstance(exposed, str) or not exposed:
            raise ProtocolError(methods.INVALID_PARAMS, "Missing name")
        kind = "tool" if list_method == methods.TOOLS_LIST else "prompt"
        if not self.catalog.listed(list_method, exposed):
            # A name nobody listed: list first, so a look-alike of a listed name is recognised.
            for server in self.session.offering(LIST_CAPABILITY[list_method]):
                if (server, list_method) not in self.catalog.complete:
                    await self.refresh(server, list_method)
            like = self.catalog.look_alike(list_method, exposed)
            if like is not None:
                raise ProtocolError(
                    methods.INVALID_PARAMS,
                    f"Unknown {kind}: the name differs from {like!r} only by case or Unicode form",
                )
        found = self.catalog.resolve(list_method, exposed)
        if found is None or found[0] not in self.session.connections:
            raise ProtocolError(methods.INVALID_PARAMS, f"Unknown {kind}: {exposed}")
        return found

    async def named_call(self, call: Call) -> Message:
        list_method = NAMED_CALLS[call.message.method]
        params = call.message.params
        server, name = await self.resolve_named(list_method, params.get("name"))
        definition = self.catalog.definition(list_method, server, name)
        if definition is None and (server, list_method) not in self.catalog.complete:
            await self.refresh(server, list_method)
            definition = self.catalog.definition(list_method, server, name)
        for_server = {**params, "name": name}
        response = await self.session.forward(call, server, for_server, name, definition)
        if response.kind is Kind.ERROR and response.error.get("code") == methods.HEADER_MISMATCH:
            # A 2026-07-28 HTTP server whose connection was renewed: its transport learns the tool's
            # Mcp-Param-* headers from a tools/list. List once more, then try once more.
            self.catalog.forget(server, list_method)
            await self.refresh(server, list_method)
            definition = self.catalog.definition(list_method, server, name)
            response = await self.session.forward(call, server, for_server, name, definition)
        return response

    async def refresh(self, server: str, list_method: str) -> None:
        """List one server's catalogue again, every page, through the pipeline; remember it."""
        if server not in self.session.offering(LIST_CAPABILITY[list_method]):
            return
        internal = Call(
            f"ostiary-refresh-{server}", messages.request(0, list_method, {}), self.session.era or "legacy"
        )
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            params: JSON = {} if cursor is None else {"cursor": cursor}
            response = await self.session.forward(internal, server, params, method=list_method)
            if response.kind is not Kind.RESULT:
                return
            nxt = response.result.get("nextCursor")
            cursor = nxt if isinstance(nxt, str) else None
            items = response.result.get(LIST_KEYS[list_method])
            self.catalog.record_page(
                server, list_method, items if isinstance(items, list) else [], cursor is None
            )
            if cursor is None:
                return

    @staticmethod
    def canonical(uri: object, template: bool = False) -> str:
        """The URI a request names, in the canonical form it is routed, judged and sent by."""
        if not isinstance(uri, str) or not uri:
            raise ProtocolError(methods.INVALID_PARAMS, "Missing uri")
        try:
            return canonical_uri(uri, template)
        except UriError as exc:
            raise ProtocolError(methods.INVALID_PARAMS, f"Invalid resource URI: {exc}") from None

    async def server_for_uri(self, uri: str) -> str:
        server = self.catalog.server_for_uri(uri)
        if server is not None:
            return server
        candidates = self.session.offering("resources")
        if len(candidates) == 1:
            return candidates[0]
        for name in candidates:
            for method in (methods.RESOURCES_TEMPLATES_LIST, methods.RESOURCES_LIST):
                if (name, method) not in self.catalog.complete:
                    await self.refresh(name, method)
        server = self.catalog.server_for_uri(uri)
        if server is None:
            code = methods.INVALID_PARAMS if self.session.era == "modern" else -32002
            raise ProtocolError(code, f"Resource not found: {uri}")
        return server

    async def uri_call(self, call: Call) -> Message:
        params = call.message.params
        uri = self.canonical(params.get("uri"))
        server = await self.server_for_uri(uri)
        upstream = {**params, "uri": self.catalog.spelling(uri)}
        return await self.session.forward(call, server, upstream, uri)

    async def complete(self, call: Call) -> Message:
        params = call.message.params
        ref = params.get("ref")
        if not isinstance(ref, dict):
            raise ProtocolError(methods.INVALID_PARAMS, "Missing ref")
        if ref.get("type") == "ref/prompt":
            server, name = await self.resolve_named(methods.PROMPTS_LIST, ref.get("name"))
            return await self.session.forward(call, server, {**params, "ref": {**ref, "name": name}}, name)
        if ref.get("type") == "ref/resource":
            uri = self.canonical(ref.get("uri"), template=True)
            server = await self.server_for_uri(uri)
            upstream = {**params, "ref": {**ref, "uri": self.catalog.spelling(uri)}}
            return await self.session.forward(call, server, upstream, uri)
        raise ProtocolError(methods.INVALID_PARAMS, "Unknown ref type")

    async def set_level(self, call: Call) -> Message:
        targets = self.session.offering("logging")
        for name in targets:
            response = await self.session.forward(call, name, call.message.params, methods.LOGGING_SET_LEVEL)
            if response.kind is Kind.ERROR:
                return response
        return messages.result(call.client_id, {})

    async def unknown(self, call: Call) -> Message:
        """A method Ostiary does not know: relay it when there is exactly one server to relay to."""
        live = list(self.session.live())
        if len(live) == 1:
            return await self.session.forward(call, live[0], call.message.params, call.message.method)
        return messages.error(
            call.client_id, methods.METHOD_NOT_FOUND, f"Method not found: {call.message.method}"
        )


def _with_cursor(params: JSON, cursor: str | None) -> JSON:
    return params if cursor is None else {**params, "cursor": cursor}


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
