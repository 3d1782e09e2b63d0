"""Per-server tool allow/deny lists from the configuration.

A denied tool is removed from `tools/list` results and a call to it is refused with the stable
code `toolfilter.denied`, so the model never sees a tool it cannot use and a call made anyway is
explained rather than reported as unknown.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from ostiary import methods
from ostiary.boundedcache import BoundedCache
from ostiary.config import Config, ToolFilter
from ostiary.messages import Message
from ostiary.pipeline import ALLOW, Exchange, Inspection, Verdict, deny, modify

DENIED = "toolfilter.denied"
FILTERED = "toolfilter.filtered"
# Calls remembered per (server, tool), so globs are matched once per tool, not once per call.
# Tool names come from the client, so the memory is bounded (emptied when full).
REMEMBERED_CALLS = 4096


def permitted(rules: ToolFilter, tool: str) -> bool:
    if any(fnmatch.fnmatchcase(tool, pattern) for pattern in rules.deny):
        return False
    return any(fnmatch.fnmatchcase(tool, pattern) for pattern in rules.allow)


class ToolFilterInspection(Inspection):
    name = "toolfilter"
    methods = frozenset({methods.TOOLS_CALL, methods.TOOLS_LIST})

    def __init__(self, rules: dict[str, ToolFilter]) -> None:
        self.rules = rules
        self._calls: BoundedCache[tuple[str, str], bool] = BoundedCache(REMEMBERED_CALLS)

    def _call_permitted(self, server: str, rules: ToolFilter, tool: str) -> bool:
        key = (server, tool)
        known = self._calls.get(key)
        if known is None:
            known = self._calls.put(key, permitted(rules, tool))
        return known

    def _rules(self, server: str | None) -> ToolFilter | None:
        return self.rules.get(server) if server is not None else None

    async def on_client_request(self, message: Message, exchange: Exchange) -> Verdict:
        if exchange.method != methods.TOOLS_CALL:
            return ALLOW
        server, tool = exchange.server, exchange.target
        rules = self._rules(server)
        if rules is None or server is None or tool is None or self._call_permitted(server, rules, tool):
            return ALLOW
        return deny(DENIED, "This tool is not allowed by the gateway configuration.", tool=exchange.target)

    async def on_server_response(self, message: Message, exchange: Exchange) -> Verdict:
        if exchange.method != methods.TOOLS_LIST:
            return ALLOW
        rules = self._rules(exchange.server)
        tools = message.result.get("tools")
        if rules is None or not isinstance(tools, list):
            return ALLOW
        kept = [t for t in tools if isinstance(t, dict) and permitted(rules, str(t.get("name", "")))]
        if len(kept) == len(tools):
            return ALLOW
        hidden = [str(t.get("name")) for t in tools if isinstance(t, dict) and t not in kept]
        return modify(
            message.with_result({**message.result, "tools": kept}),
            FILTERED,
            "Tools not allowed by the configuration were hidden.",
            hidden=hidden,
        )


def build(options: dict[str, Any], config: Config) -> ToolFilterInspection:
    return ToolFilterInspection({name: server.tools for name, server in config.servers.items()})
