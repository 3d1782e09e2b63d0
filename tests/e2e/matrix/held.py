"""One SDK client kept connected for a whole test module, on an event loop thread of its own.

A host keeps one connection open for hours and sends every kind of request over it; holding one
connection per leg does the same and keeps the matrix fast (no process start per check). The client
is entered and exited by one long-lived task, as the SDK's task groups require; checks run as
other tasks on the same loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskStatus
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import Client

from .checks import HostCallbacks

T = TypeVar("T")
# Bounds a whole check, even one whose requests each stay under the client's read timeout.
CHECK_TIMEOUT_SECONDS = 40.0
CLOSE_TIMEOUT_SECONDS = 15.0


class HeldClient:
    """A connected client plus the host callbacks it answers server->client requests with."""

    def __init__(self, make: Callable[[HostCallbacks], Client]) -> None:
        self.host = HostCallbacks()
        self._make = make
        self._portal_cm: AbstractContextManager[BlockingPortal] = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._closing: anyio.Event | None = None
        self._client: Client | None = None
        self._held: Future[Any] | None = None
        try:
            self._held, _ = self._portal.start_task(self._hold)
        except BaseException:
            self._portal_cm.__exit__(None, None, None)
            raise

    async def _hold(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self._closing = anyio.Event()
        async with self._make(self.host) as client:
            # What a host does first; on 2026-07-28 it is also the first message the server sees, so
            # whatever a gateway starts for this client exists before any test begins.
            await client.list_tools()
            self._client = client
            task_status.started()
            await self._closing.wait()

    def run(self, check: Callable[[Client], Awaitable[T]]) -> T:
        """Runs `check(client)` on the client's loop and returns its result (or raises its error)."""
        client = self._client
        assert client is not None, "the held client is closed"

        async def bounded() -> T:
            with anyio.fail_after(CHECK_TIMEOUT_SECONDS):
                return await check(client)

        self.host.reset()
        return self._portal.call(bounded)

    def close(self) -> None:
        """Lets the holding task leave the client's context (ending the session), then the loop."""
        with contextlib.suppress(Exception):
            if self._closing is not None:
                self._portal.call(self._closing.set)
            if self._held is not None:
                self._held.result(timeout=CLOSE_TIMEOUT_SECONDS + 5)
        self._client = None
        with contextlib.suppress(Exception):
            # Whatever is still running (a client stuck closing) is cancelled, so closing is bounded.
            self._portal.call(self._portal.stop, True)
        with contextlib.suppress(Exception):
            self._portal_cm.__exit__(None, None, None)
