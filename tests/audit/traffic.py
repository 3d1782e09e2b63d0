"""Real pipeline decisions for audit tests: a Pipeline with the audit log as its observer."""

from __future__ import annotations

import asyncio
from typing import Any

from ostiary import messages
from ostiary.audit import AuditLog, HmacSealer
from ostiary.identity import Principal
from ostiary.pipeline import Decision, Exchange, Hook, Pipeline
from ostiary.store import Store

KEY = b"test-chain-key-0123456789abcdef"


def sealer(every: int = 1000) -> HmacSealer:
    return HmacSealer(KEY, every_records=every, every_seconds=3600)


async def call(
    pipeline: Pipeline,
    n: int,
    user: str = "alice",
    tool: str = "echo",
    arguments: dict[str, Any] | None = None,
) -> Decision:
    """One tools/call request through the pipeline, as the session would run it."""
    who = Principal(subject=user)
    exchange = Exchange(who, session_id=f"s-{user}", method="tools/call", server="srv", target=tool)
    message = messages.request(n, "tools/call", {"name": tool, "arguments": arguments or {"n": n}})
    return await pipeline.run(Hook.CLIENT_REQUEST, message, exchange)


async def started_log(store: Store, every: int = 1000, spool: bool = True) -> tuple[AuditLog, Pipeline]:
    log = AuditLog(store, sealer(every), spool=spool)
    await log.start()
    return log, Pipeline(observers=[log])


async def calls_across(logs: list[AuditLog], count: int) -> list[Decision]:
    """`count` concurrent calls spread over the gateways whose audit logs these are (started
    here, closed after), from seven users."""
    for log in logs:
        await log.start()
    pipelines = [Pipeline(observers=[log]) for log in logs]
    try:
        return await asyncio.gather(
            *(call(pipelines[i % len(logs)], i, user=f"user{i % 7}") for i in range(count))
        )
    finally:
        for log in logs:
            await log.close()
