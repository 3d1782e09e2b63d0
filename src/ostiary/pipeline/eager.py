"""Run a coroutine at once up to its first wait, and put a time limit on the waiting only.

Most inspection hooks never wait (a lookup, a scan): they finish in their first step, with no
timer armed, since a timer could not interrupt a computation on the event loop anyway. A hook
that does wait is resumed in the awaiting task under `asyncio.timeout`, exactly as if it had been
awaited whole: what it waits on, and what the task sends or throws into it (the timeout's
cancellation), pass through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Resumed(Generic[T]):
    """Awaits the rest of a coroutine already run up to its first wait (`waiting_on`, what it
    yielded then)."""

    __slots__ = ("running", "waiting_on")

    def __init__(self, running: Coroutine[Any, Any, T], waiting_on: Any) -> None:
        self.running = running
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, T]:
        running, waiting_on = self.running, self.waiting_on
        while True:
            try:
                sent = yield waiting_on
            except GeneratorExit:
                running.close()
                raise
            except BaseException as thrown:
                try:
                    waiting_on = running.throw(thrown)
                except StopIteration as finished:
                    return finished.value  # type: ignore[no-any-return]
            else:
                try:
                    waiting_on = running.send(sent)
                except StopIteration as finished:
                    return finished.value  # type: ignore[no-any-return]


async def run_eagerly(running: Coroutine[Any, Any, T], limit: float) -> T:
    """The coroutine's result; raises what it raises, and TimeoutError if its waiting outlasts
    `limit` seconds (the coroutine is then cancelled)."""
    try:
        waiting_on = running.send(None)
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]
    async with asyncio.timeout(limit):
        return await Resumed(running, waiting_on)
