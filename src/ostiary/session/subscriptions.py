"""`subscriptions/listen` for 2026-07-28 clients: change notifications on a long-lived request.

A modern client opts in to kinds of notifications; the gateway acknowledges the subset its servers
can honour, opens the matching subscription on each server (a `subscriptions/listen` of its own on
modern servers; `resources/subscribe` on legacy ones, whose list_changed notifications arrive
unasked), and tags everything it delivers with the client's subscription id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from ostiary import messages, methods
from ostiary.messages import JSON, Message, ProtocolError, RequestId
from ostiary.uris import UriError, canonical_uri

if TYPE_CHECKING:
    from ostiary.session.call import Call
    from ostiary.session.core import ClientSession

log = logging.getLogger("ostiary.subscriptions")

_WANTS = {
    methods.TOOLS_LIST_CHANGED: ("toolsListChanged", "tools"),
    methods.PROMPTS_LIST_CHANGED: ("promptsListChanged", "prompts"),
    methods.RESOURCES_LIST_CHANGED: ("resourcesListChanged", "resources"),
}


class Listeners:
    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self._active: dict[RequestId, JSON] = {}

    def _honoured(self, wanted: JSON) -> JSON:
        caps = self.session.server_capabilities()
        ack: JSON = {}
        for flag, capability in _WANTS.values():
            offered = caps.get(capability)
            if wanted.get(flag) and isinstance(offered, dict) and offered.get("listChanged"):
                ack[flag] = True
        uris = wanted.get("resourceSubscriptions")
        resources = caps.get("resources")
        if isinstance(uris, list) and isinstance(resources, dict) and resources.get("subscribe"):
            ack["resourceSubscriptions"] = [u for u in uris if isinstance(u, str)]
        return ack

    async def listen(self, call: Call) -> Message:
        wanted = call.message.params.get("notifications")
        ack = self._honoured(wanted if isinstance(wanted, dict) else {})
        if "resourceSubscriptions" in ack:
            ack["resourceSubscriptions"] = await self._permitted(call, ack["resourceSubscriptions"])
        sub_id = call.client_id
        meta = {methods.META_SUBSCRIPTION_ID: sub_id}
        await self.session.channel.send(
            messages.notification(methods.SUBSCRIPTIONS_ACKNOWLEDGED, {"notifications": ack, "_meta": meta}),
            sub_id,
        )
        on_servers = await self._open_on_servers(call, ack)
        self._active[sub_id] = ack
        try:
            await asyncio.Event().wait()  # until the client cancels or the session ends
        finally:
            self._active.pop(sub_id, None)
            for task in on_servers:
                task.cancel()
        return messages.result(sub_id, {"_meta": meta})

    async def _permitted(self, call: Call, uris: list[str]) -> list[str]:
        """The URIs, canonical, that this principal may subscribe to: each judged by the pipeline
        as a `resources/subscribe` of its own. What cannot be parsed or is denied is left out."""
        kept: list[str] = []
        for raw in uris:
            try:
                uri = canonical_uri(raw)
                server = await self.session.router.server_for_uri(uri)
            except (UriError, ProtocolError):
                continue
            if uri not in kept and await self.session.judge(
                call, server, methods.RESOURCES_SUBSCRIBE, {"uri": uri}, uri
            ):
                kept.append(uri)
        return kept

    async def _open_on_servers(self, call: Call, ack: JSON) -> list[asyncio.Task[Any]]:
        tasks: list[asyncio.Task[Any]] = []
        for conn in self.session.live().values():
            if conn.hello is not None and conn.era == "modern":
                params = {"notifications": ack}
                tasks.append(asyncio.create_task(conn.request(methods.SUBSCRIPTIONS_LISTEN, params, None)))
        for uri in ack.get("resourceSubscriptions", []):
            try:
                server = await self.session.router.server_for_uri(uri)
            except ProtocolError:
                continue
            target = self.session.connections.get(server)
            if target is not None and target.era == "legacy":
                with contextlib.suppress(Exception):
                    spelling = self.session.catalog.spelling(uri)
                    await target.request(methods.RESOURCES_SUBSCRIBE, {"uri": spelling}, None)
        return tasks

    async def deliver(self, message: Message) -> None:
        """Send a server's change notification to every listener that asked for its kind."""
        method = message.method
        for sub_id, ack in list(self._active.items()):
            if method in _WANTS:
                if not ack.get(_WANTS[method][0]):
                    continue
            elif method == methods.RESOURCES_UPDATED:
                uri = message.params.get("uri")
                try:
                    uri = canonical_uri(uri) if isinstance(uri, str) else None
                except UriError:
                    uri = None
                if uri not in ack.get("resourceSubscriptions", []):
                    continue
            else:
                continue
            params = dict(message.params)
            params["_meta"] = {**(params.get("_meta") or {}), methods.META_SUBSCRIPTION_ID: sub_id}
            await self.session.channel.send(messages.notification(method, params), sub_id)
