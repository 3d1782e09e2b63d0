"""The audit log's own CPU per call, by step: both records of a tools/call built from their
decisions, each written to an audit spool as the message path does, and both chained into an
embedded SQLite store in batches of 64, as the spool's drain does off the message path (but on the
same CPU).

    .venv/bin/python benchmarks/bench_records.py
    PYTHONPATH=/path/to/other/checkout/src .venv/bin/python benchmarks/bench_records.py  # another commit

Reported: the process's CPU time per call (two records), which a busy machine disturbs less than
wall time; the best of seven runs for the first two steps, the mean of five for chaining. One
process, warm caches: sixteen gateways sharing two cores each pay more (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ostiary import messages, methods
from ostiary.audit.canonical import canonical
from ostiary.audit.record import record_of
from ostiary.audit.seal import HmacSealer
from ostiary.identity import Principal
from ostiary.pipeline import ALLOW, Decision, Exchange, Hook
from ostiary.store import SqlStore, open_url
from ostiary.store.spool import Spool

USER = Principal("local-user", method="local")
REQUEST = messages.request(7, methods.TOOLS_CALL, {"name": "echo", "arguments": {"text": "hello world " * 4}})
RESULT = messages.result(7, {"content": [{"type": "text", "text": "hello world " * 4}], "isError": False})


BATCH = 64  # records per chain commit: the drain's batch (audit/log.py, SPOOL_INGEST_BATCH)


def one_call(spool: Spool | None) -> list[dict[str, object]]:
    exchange = Exchange(
        USER, "0123456789abcdef0123456789abcdef", methods.TOOLS_CALL, "echo", "echo", None, REQUEST,
        {"name": "bench", "version": "1"}, "2025-11-25",
    )  # fmt: skip
    bodies = []
    for hook, message in ((Hook.CLIENT_REQUEST, REQUEST), (Hook.SERVER_RESPONSE, RESULT)):
        body = record_of(Decision(hook, exchange, message, message, ALLOW, elapsed=1e-5))
        if spool is not None:
            spool.write(canonical(body))
        bodies.append(body)
    return bodies


def chained_us(store: SqlStore, sealer: HmacSealer, calls: int, rounds: int = 5) -> float:
    """CPU per call of chaining both its records, in commits of BATCH records: the mean over all
    rounds, not the best, because the store's WAL checkpoints (on a worker thread, which the
    process's CPU time includes) land in some rounds and not others, as they do in a gateway."""
    bodies = [body for _ in range(calls) for body in one_call(None)]
    started = time.process_time()
    for _ in range(rounds):
        for i in range(0, len(bodies), BATCH):
            if store.append_audit_now("main", bodies[i : i + BATCH], sealer) is None:
                raise SystemExit("the scratch store could not be written without waiting")
    return (time.process_time() - started) / (calls * rounds) * 1e6


def per_call_us(run: Callable[[], object], calls: int) -> float:
    for _ in range(calls // 10):
        run()
    best = float("inf")
    for _ in range(7):
        started = time.process_time()
        for _ in range(calls):
            run()
        best = min(best, (time.process_time() - started) / calls * 1e6)
    return best


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    sealer = HmacSealer(b"bench-key-0123456789abcdef")
    with tempfile.TemporaryDirectory() as scratch:
        spool = Spool.create(Path(scratch), sealer.mac)
        built = per_call_us(lambda: one_call(None), args.calls)
        spooled = per_call_us(lambda: one_call(spool), args.calls)
        spool.close()
        store = await open_url(f"sqlite:///{scratch}/audit.db")
        try:
            chained = chained_us(store, sealer, args.calls)
        finally:
            await store.close()
    print("| per tools/call (two records) | CPU µs |")
    print("| --- | ---: |")
    print(f"| records built | {built:.1f} |")
    print(f"| records built and spooled (on the message path) | {spooled:.1f} |")
    print(f"| records chained into SQLite, {BATCH} to a commit (off the message path) | {chained:.1f} |")


if __name__ == "__main__":
    asyncio.run(main())
