"""Pinning, the rug-pull defence: a tool, prompt or template that changes after it was trusted is
quarantined (hidden from lists, its calls refused) until an operator approves the new version.

Each definition is reduced to a document (name, title, description, schemas, annotations, and
the server's instructions) whose SHA-256 over canonical JSON is its fingerprint, kept per tenant
in the store. Every list result is checked, including the relists after `list_changed`, so a
server cannot change a definition mid-session. New definitions are trusted on first use
(`pinning.mode: tofu`, the default) or held until approved (`pinning.mode: quarantine`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import shlex
from dataclasses import replace
from typing import Any

from ostiary import methods
from ostiary.audit.canonical import canonical
from ostiary.config import Config, ConfigError
from ostiary.messages import Message
from ostiary.pipeline import ALLOW, Exchange, Inspection, Verdict, deny, modify
from ostiary.provenance.labels import pinned_labels
from ostiary.store import Pin, Store, now_us, open_store

log = logging.getLogger("ostiary.pinning")

QUARANTINED = "pinning.quarantined"
COLLISION = "pinning.collision"
TRUSTED, HELD = "trusted", "quarantined"
# list method -> (key in the result, kind of definition)
LISTS = {
    methods.TOOLS_LIST: ("tools", "tool"),
    methods.PROMPTS_LIST: ("prompts", "prompt"),
    methods.RESOURCES_TEMPLATES_LIST: ("resourceTemplates", "template"),
}
CALLS = {methods.TOOLS_CALL: "tool", methods.PROMPTS_GET: "prompt"}
HANDSHAKES = frozenset({methods.INITIALIZE, methods.DISCOVER})
FIELDS = {
    "tool": ("name", "title", "description", "inputSchema", "outputSchema", "annotations"),
    "prompt": ("name", "title", "description", "arguments"),
    "template": ("name", "title", "description", "uriTemplate", "mimeType", "annotations"),
}


# The characters a client-visible (namespaced) name keeps; see `catalog.expose`.
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def document(kind: str, definition: dict[str, Any], instructions: str | None) -> dict[str, Any]:
    """What is pinned of a definition: every field the model or the host reads, plus the server's
    instructions. `_meta` (a UI resource, a host hint) is pinned when the definition has one, so
    definitions pinned before it was kept keep their fingerprints."""
    doc = {key: definition.get(key) for key in FIELDS[kind]}
    doc["instructions"] = instructions
    if "_meta" in definition:
        doc["_meta"] = definition["_meta"]
    return doc


def _established_first(items: list[Any], new: set[str]) -> list[Any] | None:
    """The list with every definition seen before ahead of a newcomer whose client-visible name
    would collide with it (`read.file` beside `read_file`), so the established one keeps its name
    and the newcomer is the one renamed. None when nothing collides."""
    established = {
        _UNSAFE.sub("_", str(i.get("name", "")))
        for i in items
        if isinstance(i, dict) and i.get("name") not in new
    }
    clashing = [
        i
        for i in items
        if isinstance(i, dict) and i.get("name") in new and _UNSAFE.sub("_", str(i["name"])) in established
    ]
    if not clashing:
        return None
    return [i for i in items if not any(i is c for c in clashing)] + clashing


def fingerprint(doc: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(doc)).hexdigest()


class PinningInspection(Inspection):
    name = "pinning"
    methods = frozenset(LISTS) | frozenset(CALLS) | HANDSHAKES

    def __init__(self, config: Config, tenant: str, first_sight: str, store: Store | None = None) -> None:
        self.config = config
        self.tenant = tenant
        self.first_sight = first_sight
        self.store = store
        self._owns_store = False
        self._instructions: dict[str, str | None] = {}
        # (server, kind) -> names currently held, and what was last seen of each.
        self._held: dict[tuple[str, str], set[str]] = {}
        self._loaded: set[str] = set()

    async def start(self) -> None:
        if self.store is None:
            self.store = await open_store(self.config)
            self._owns_store = True

    async def close(self) -> None:
        if self._owns_store and self.store is not None:
            await self.store.close()
            self.store = None

    def _store(self) -> Store:
        if self.store is None:
            raise RuntimeError("the pinning inspection was not started")
        return self.store

    async def on_server_response(self, message: Message, exchange: Exchange) -> Verdict:
        if exchange.server is None or not message.is_response:
            return ALLOW
        if exchange.method in HANDSHAKES:
            text = message.result.get("instructions")
            self._instructions[exchange.server] = text if isinstance(text, str) else None
            return ALLOW
        key_kind = LISTS.get(exchange.method)
        items = message.result.get(key_kind[0]) if key_kind else None
        if key_kind is None or not isinstance(items, list):
            return ALLOW
        kind = key_kind[1]
        new: set[str] = set()
        hidden = await self._check(exchange.server, kind, [i for i in items if isinstance(i, dict)], new)
        reordered = _established_first(items, new) if kind != "template" else None
        if reordered is not None and not hidden:
            return modify(
                message.with_result({**message.result, key_kind[0]: reordered}),
                COLLISION,
                "New definitions whose names collide with established ones are listed after them.",
                server=exchange.server,
                kind=kind,
            )
        if reordered is not None:
            items = reordered
        if not hidden:
            return ALLOW
        kept = [i for i in items if not (isinstance(i, dict) and i.get("name") in hidden)]
        return modify(
            message.with_result({**message.result, key_kind[0]: kept}),
            QUARANTINED,
            "Definitions that changed since they were approved are held until an operator approves them.",
            server=exchange.server,
            kind=kind,
            hidden=sorted(hidden),
        )

    async def _check(
        self, server: str, kind: str, items: list[dict[str, Any]], new: set[str] | None = None
    ) -> set[str]:
        """Compare each definition with its pin; record first sights and changes; return the held."""
        store = self._store()
        pins = {(p.kind, p.name): p for p in await store.load_pins(self.tenant, server)}
        self._loaded.add(server)
        held = self._held.setdefault((server, kind), set())
        instructions = self._instructions.get(server)
        for item in items:
            name = str(item.get("name", ""))
            doc = document(kind, item, instructions)
            if labels := pinned_labels(self.config, server, name):
                doc["labels"] = labels  # relabelling is reviewed like a changed definition
            seen = fingerprint(doc)
            pin = pins.get((kind, name))
            text = canonical(doc).decode()
            if pin is None:
                if new is not None:
                    new.add(name)
                if self.first_sight == "tofu":
                    pin = Pin(self.tenant, server, kind, name, seen, text, TRUSTED)
                else:
                    pin = Pin(self.tenant, server, kind, name, None, None, HELD, seen, text)
                await store.save_pin(pin)
            elif pin.fingerprint == seen:
                if pin.status != TRUSTED:
                    pin = replace(pin, status=TRUSTED, pending_fingerprint=None, pending_document=None)
                    await store.save_pin(pin)
            elif pin.status != HELD or pin.pending_fingerprint != seen:
                log.warning(
                    "pinning: %s %s of server %s changed; quarantined until approved", kind, name, server
                )
                pin = replace(pin, status=HELD, pending_fingerprint=seen, pending_document=text)
                await store.save_pin(pin)
            if pin.status == TRUSTED:
                held.discard(name)
            else:
                held.add(name)
        return held & {str(item.get("name", "")) for item in items}

    async def on_client_request(self, message: Message, exchange: Exchange) -> Verdict:
        kind = CALLS.get(exchange.method)
        if kind is None or exchange.server is None or exchange.target is None:
            return ALLOW
        server, name = exchange.server, exchange.target
        if server not in self._loaded:
            await self._load_held(server)
        if name not in self._held.get((server, kind), set()):
            return ALLOW
        pins = await self._store().load_pins(self.tenant, server)
        pin = next((p for p in pins if p.kind == kind and p.name == name), None)
        if pin is not None and pin.status == TRUSTED:
            self._held[(server, kind)].discard(name)
            return ALLOW
        return deny(QUARANTINED, self._quarantine_reason(server, kind, name), kind=kind)

    def _quarantine_reason(self, server: str, kind: str, name: str) -> str:
        """Names the definition and the exact command that reviews and releases it."""
        command = ["ostiary", "pins", "approve", shlex.quote(server), shlex.quote(name)]
        if kind != "tool":
            command += ["--kind", kind]
        if self.config.source:
            command += ["--config", shlex.quote(self.config.source)]
        if self.tenant != self.config.name:
            command += ["--tenant", shlex.quote(self.tenant)]
        return (
            f"The {kind} {name!r} of server {server!r} changed since it was approved and is "
            f"quarantined. To review the change and release it, run `{' '.join(command)}`."
        )

    async def _load_held(self, server: str) -> None:
        for pin in await self._store().load_pins(self.tenant, server):
            if pin.status == HELD:
                self._held.setdefault((server, pin.kind), set()).add(pin.name)
        self._loaded.add(server)


def approve(pin: Pin) -> Pin:
    """The pin with its pending definition accepted as the trusted one."""
    return replace(
        pin,
        fingerprint=pin.pending_fingerprint,
        document=pin.pending_document,
        status=TRUSTED,
        pending_fingerprint=None,
        pending_document=None,
        updated_us=now_us(),
    )


def build(options: dict[str, Any], config: Config) -> PinningInspection:
    # The inspection's options (checked at load: config.PinningOptions) over the `pinning:` section.
    first_sight = str(options.get("mode") or config.pinning.mode)
    if first_sight not in ("tofu", "quarantine"):
        raise ConfigError(f"pinning.mode must be 'tofu' or 'quarantine', not {first_sight!r}")
    return PinningInspection(config, tenant_of(config, options.get("tenant")), first_sight)


def tenant_of(config: Config, configured: object = None) -> str:
    """Whose pins these are: `pinning.tenant` if set, else the gateway's name, so that two
    gateways of one user never share (and quarantine) each other's pins."""
    configured = configured or config.pinning.tenant
    return str(configured) if configured else config.name
