"""The audit log's own cost per call, before any database: both records of a tools/call built from
their decisions, and each written to an audit spool as the message path does.

    .venv/bin/python benchmarks/bench_records.py
    PYTHONPATH=/path/to/other/checkout/src .venv/bin/python benchmarks/bench_records.py  # another commit

Reported: the best of seven runs of the process's CPU time per call (two records), which a busy
machine disturbs less than wall time. The spool is a scratch file; chaining into the store happens
later, off the message path, and is measured by bench_audit.py.
"""

from __future__ import annotations

import argparse
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
from ostiary.store.spool import Spool

USER = Principal("local-user", method="local")
REQUEST = messages.request(7, methods.TOOLS_CALL, {"name": "echo", "arguments": {"text": "hello world " * 4}})
RESULT = messages.result(7, {"content": [{"type": "text", "text": "hello world " * 4}], "isError": False})


def one_call(spool: Spool | None) -> None:
    exchange = Exchange(
        USER, "0123456789abcdef0123456789abcdef", methods.TOOLS_CALL, "echo", "echo", None, REQUEST,
        {"name": "bench", "version": "1"}, "2025-11-25",
    )  # fmt: skip
    for hook, message in ((Hook.CLIENT_REQUEST, REQUEST), (Hook.SERVER_RESPONSE, RESULT)):
        body = record_of(Decision(hook, exchange, message, message, ALLOW, elapsed=1e-5))
        if spool is not None:
            spool.write(canonical(body))


def per_call_us(run: Callable[[], None], calls: int) -> float:
    for _ in range(calls // 10):
        run()
    best = float("inf")
    for _ in range(7):
        started = time.process_time()
        for _ in range(calls):
            run()
        best = min(best, (time.process_time() - started) / calls * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        spool = Spool.create(Path(scratch), HmacSealer(b"bench-key-0123456789abcdef").mac)
        built = per_call_us(lambda: one_call(None), args.calls)
        spooled = per_call_us(lambda: one_call(spool), args.calls)
        spool.close()
    print("| per tools/call (two records) | CPU µs |")
    print("| --- | ---: |")
    print(f"| records built | {built:.1f} |")
    print(f"| records built and spooled | {spooled:.1f} |")


if __name__ == "__main__":
    main()
