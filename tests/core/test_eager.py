"""run_eagerly: a coroutine runs at once up to its first wait, and only its waiting is timed."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from ostiary.pipeline.eager import run_eagerly


async def test_a_coroutine_that_never_waits_finishes_in_its_first_step_and_arms_no_timer() -> None:
    steps: list[str] = []

    async def lookup() -> str:
        steps.append("ran")
        return "value"

    running = run_eagerly(lookup(), 0.001)
    assert steps == []
    # The first step of run_eagerly finishes the whole coroutine: no yield to the loop at all.
    with pytest.raises(StopIteration) as finished:
        running.send(None)
    assert finished.value.value == "value"
    assert steps == ["ran"]


async def test_a_coroutine_that_waits_gets_what_it_waits_for_and_returns_its_value() -> None:
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def waits() -> int:
        got = await ready
        await asyncio.sleep(0)
        return got + 1

    task = asyncio.ensure_future(run_eagerly(waits(), 5))
    await asyncio.sleep(0)
    ready.set_result(41)
    assert await task == 42


async def test_waiting_past_the_limit_raises_timeout_and_cancels_the_coroutine() -> None:
    cleaned: list[str] = []

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append("finally ran")

    with pytest.raises(TimeoutError):
        await run_eagerly(stuck(), 0.05)
    assert cleaned == ["finally ran"]


async def test_exceptions_pass_through_from_either_step() -> None:
    async def fails_at_once() -> None:
        raise ValueError("first step")

    async def fails_after_waiting() -> None:
        await asyncio.sleep(0)
        raise KeyError("after a wait")

    with pytest.raises(ValueError, match="first step"):
        await run_eagerly(fails_at_once(), 1)
    with pytest.raises(KeyError):
        await run_eagerly(fails_after_waiting(), 1)


async def test_cancelling_the_caller_cancels_the_coroutine_and_it_may_catch_it() -> None:
    seen: list[str] = []
    started = asyncio.Event()

    async def cancellable() -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        return "never"

    task = asyncio.ensure_future(run_eagerly(cancellable(), 5))
    await started.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert seen == ["cancelled"]
