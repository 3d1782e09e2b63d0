"""How long single audit commits take on SQLite's inline path, tails included.

One record at a time on the store's event-loop connection (`append_audit_now`), one event-loop
turn between commits, as a gateway with one busy session does. The tail is where WAL checkpoints
show: each fsyncs, and one that runs on the event loop stalls every session.

    .venv/bin/python benchmarks/bench_commit_stalls.py --commits 5000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path

from ostiary.audit import HmacSealer
from ostiary.store import open_url

BODY = {
    "ts_us": 1, "principal": "alice", "server": "files", "target": "write_file",
    "method": "tools/call", "action": "allow", "code": "", "args": {"text": "x" * 100},
}  # fmt: skip


async def run_once(commits: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = await open_url(f"sqlite+aiosqlite:///{Path(tmp) / 'stalls.db'}", "normal")
        sealer = HmacSealer(secrets.token_bytes(32))
        took: list[float] = []
        try:
            for _ in range(commits):
                started = time.perf_counter()
                if store.append_audit_now("main", [BODY], sealer) is None:
                    raise SystemExit("the inline path is not available (another writer holds the file?)")
                took.append(time.perf_counter() - started)
                await asyncio.sleep(0)
        finally:
            await store.close()
    took.sort()
    at = lambda q: took[min(len(took) - 1, int(len(took) * q))] * 1e6  # noqa: E731
    return {
        "mean": sum(took) / len(took) * 1e6, "p50": at(0.5), "p99": at(0.99), "p99.9": at(0.999),
        "max": took[-1] * 1e6, "over_2ms": sum(t > 0.002 for t in took),
    }  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("| run | mean µs | p50 µs | p99 µs | p99.9 µs | max µs | commits over 2 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for run in range(1, args.runs + 1):
        r = await run_once(args.commits)
        print(
            f"| {run} | {r['mean']:.0f} | {r['p50']:.0f} | {r['p99']:.0f} | {r['p99.9']:,.0f} "
            f"| {r['max']:,.0f} | {r['over_2ms']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())
