"""The inventory: every server the gateway has connected to, and what each one offers.

Fed by an observer over the same handshake and list results the pipeline already sees (the
server's original answers, before any inspection hid something), so it costs no extra traffic.
Writes happen in the background and only when something changed: the inventory describes, it
does not guard, so a failed write is logged and never stops a message.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ostiary import methods
from ostiary.audit.canonical import digest
from ostiary.pipeline import Decision, Hook
from ostiary.store import InventoryItem, Store

log = logging.getLogger("ostiary.inventory")

LISTS = {
    methods.TOOLS_LIST: ("tools", "tool", "name"),
    methods.PROMPTS_LIST: ("prompts", "prompt", "name"),
    methods.RESOURCES_LIST: ("resources", "resource", "uri"),
    methods.RESOURCES_TEMPLATES_LIST: ("resourceTemplates", "template", "uriTemplate"),
}
HANDSHAKES = frozenset({methods.INITIALIZE, methods.DISCOVER})
RISKS = ("read-only", "write", "destructive", "open-world", "unknown")


def risk_class(definition: dict[str, Any]) -> str:
    """The risk a tool's annotations claim. They are hints from the server, not proof."""
    annotations = definition.get("annotations")
    if not isinstance(annotations, dict) or not annotations:
        return "unknown"
    if annotations.get("readOnlyHint") is True:
        return "open-world" if annotations.get("openWorldHint") is True else "read-only"
    if annotations.get("destructiveHint") is True:
        return "destructive"
    if annotations.get("openWorldHint") is True:
        return "open-world"
    if annotations.get("readOnlyHint") is False or annotations.get("destructiveHint") is False:
        return "write"
    return "unknown"


def server_info(method: str, result: dict[str, Any], negotiated: str) -> dict[str, Any]:
    protocol = result.get("protocolVersion") or negotiated or None
    modern = method == methods.DISCOVER or protocol in methods.MODERN_VERSIONS
    info = result.get("serverInfo")
    return {
        "serverInfo": info if isinstance(info, dict) else {},
        "protocolVersion": protocol,
        "supportedVersions": result.get("supportedVersions"),
        "era": "modern" if modern else "legacy",
        "capabilities": result.get("capabilities") or {},
        "instructions": result.get("instructions"),
    }


class InventoryObserver:
    def __init__(self, store: Store, gateway: str = "") -> None:
        self.store = store
        self.gateway = gateway
        self._last: dict[tuple[str, str, str], str] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Nothing to acquire; present so the gateway can treat every observer alike."""

    async def observe(self, decision: Decision) -> None:
        exchange = decision.exchange
        if decision.hook is not Hook.SERVER_RESPONSE or exchange.server is None:
            return
        result = decision.original.result
        if exchange.method in HANDSHAKES and result:
            info = server_info(exchange.method, result, exchange.protocol_version)
            write = functools.partial(self.store.record_server, exchange.server, info, self.gateway)
            self._later(("server", exchange.server, ""), info, write)
            return
        spec = LISTS.get(exchange.method)
        items = result.get(spec[0]) if spec else None
        if spec is None or not isinstance(items, list):
            return
        _, kind, key = spec
        found = [
            InventoryItem(
                exchange.server,
                kind,
                str(i.get(key)),
                i,
                risk_class(i) if kind == "tool" else "",
                0,
                self.gateway,
            )
            for i in items
            if isinstance(i, dict) and i.get(key)
        ]
        asked = exchange.request.params.get("cursor") if exchange.request is not None else None
        page = (kind, exchange.server, str(asked or ""))
        self._later(page, items, functools.partial(self.store.record_items, found))

    def _later(self, key: tuple[str, str, str], content: Any, write: Callable[[], Awaitable[None]]) -> None:
        """Run `write` in the background unless `content` is what was last recorded under `key`."""
        fingerprint = digest(content)
        if self._last.get(key) == fingerprint:
            return
        self._last[key] = fingerprint
        task = asyncio.create_task(self._write(key, write))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, key: tuple[str, str, str], write: Callable[[], Awaitable[None]]) -> None:
        try:
            await write()
        except Exception as exc:
            self._last.pop(key, None)
            log.warning("inventory: could not record %s of server %s (%s)", key[0], key[1], exc)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def build_inventory_observer(store: Store, gateway: str = "") -> InventoryObserver:
    return InventoryObserver(store, gateway)


__all__ = ["RISKS", "InventoryObserver", "build_inventory_observer", "risk_class", "server_info"]
