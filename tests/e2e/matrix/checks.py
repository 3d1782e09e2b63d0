"""What a host observes, gathered the same way on every leg: list walks, recorders for server->client
requests and progress, and the raw request a host sends for a method the SDK has no helper for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types
from mcp import Client

# A list that still has a cursor after this many pages is treated as a loop, not a long list.
MAX_PAGES = 50


async def walk_pages(fetch: Callable[[str | None], Awaitable[Any]], items: str) -> tuple[list[Any], int]:
    """Follows `nextCursor` until the server stops giving one; returns every item and the page count."""
    collected: list[Any] = []
    cursor: str | None = None
    for pages in range(1, MAX_PAGES + 1):
        page = await fetch(cursor)
        collected.extend(getattr(page, items))
        cursor = page.next_cursor
        if cursor is None:
            return collected, pages
    raise AssertionError(f"{items}: still paginating after {MAX_PAGES} pages")


async def all_tools(client: Client) -> list[types.Tool]:
    tools, _ = await walk_pages(lambda c: client.list_tools(cursor=c, cache_mode="refresh"), "tools")
    return tools


async def send_raw(client: Client, method: str, params: dict[str, Any]) -> types.EmptyResult:
    """Sends a request the SDK has no helper for, stamped like any other request of this client."""
    request = types.Request[dict[str, Any], str](method=method, params=params)
    return await client.session.send_request(request, types.EmptyResult)


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


@dataclass
class HostCallbacks:
    """A host's answers to server->client requests, recording what the server asked."""

    sampling: list[types.CreateMessageRequestParams] = field(default_factory=list)
    elicitation: list[types.ElicitRequestParams] = field(default_factory=list)
    roots_asked: int = 0
    sampled_text: str = "sampled by the matrix host ✓"
    roots: tuple[types.Root, ...] = (types.Root(uri="file:///srv/matrix-root", name="matrix root"),)
    elicited: dict[str, Any] = field(default_factory=lambda: {"name": "Ada Lovelace", "check": True})

    async def on_sampling(
        self, _ctx: Any, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        self.sampling.append(params)
        asked = " ".join(getattr(m.content, "text", "") for m in params.messages)
        return types.CreateMessageResult(
            role="assistant",
            # Echoes the question, so a caller can tell whose question an answer belongs to.
            content=types.TextContent(type="text", text=f"{self.sampled_text} [{asked}]"),
            model="matrix-model",
            stop_reason="endTurn",
        )

    async def on_elicitation(self, _ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.elicitation.append(params)
        if isinstance(params, types.ElicitRequestURLParams):
            return types.ElicitResult(action="accept")
        return types.ElicitResult(action="accept", content=self.elicited)

    async def on_roots(self, _ctx: Any) -> types.ListRootsResult:
        self.roots_asked += 1
        return types.ListRootsResult(roots=list(self.roots))

    def reset(self) -> None:
        self.sampling.clear()
        self.elicitation.clear()
        self.roots_asked = 0

    def options(self) -> dict[str, Any]:
        return {
            "sampling_callback": self.on_sampling,
            "elicitation_callback": self.on_elicitation,
            "list_roots_callback": self.on_roots,
        }


@dataclass
class ProgressLog:
    """Progress notifications of one call, and whether any arrived after its result."""

    seen: list[tuple[float, float | None]] = field(default_factory=list)
    finished: bool = False
    late: int = 0

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        if self.finished:
            self.late += 1
        self.seen.append((progress, total))
