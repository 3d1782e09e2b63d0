"""Audit cost per call: records/s and observe() latency with N concurrent writers, SQLite and PostgreSQL.

Each writer is a session sending tools/call decisions through a real Pipeline whose only observer
is the audit log, so the figure is the whole audit cost a call pays: record building, redaction,
digests, the keyed chain, and waiting until it is durable (by default as the gateway does: on
SQLite in the audit spool, chained in batches, with synchronous=NORMAL; PostgreSQL with
synchronous_commit=on). Records/s runs until the log is closed, so every record is in the chain.

    .venv/bin/python benchmarks/bench_audit.py                     # both backends, 1/16/64 writers
    .venv/bin/python benchmarks/bench_audit.py --backend sqlite --writers 64 --calls 200
    .venv/bin/python benchmarks/bench_audit.py --backend sqlite --spool off        # direct commits
    .venv/bin/python benchmarks/bench_audit.py --backend postgres --spool on       # audit.spool: true
    .venv/bin/python benchmarks/bench_audit.py --backend postgres --postgres-synchronous-commit off
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from ostiary import messages
from ostiary.audit import AuditLog, HmacSealer, verify
from ostiary.identity import Principal
from ostiary.pipeline import Exchange, Hook, Pipeline
from ostiary.store import open_url

POSTGRES = os.environ.get("OSTIARY_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
ARGUMENTS = {
    "path": "/srv/data/report.txt",
    "text": "hello " * 20,
    "options": {"mode": "append", "retries": 3},
}


async def _writer(pipeline: Pipeline, writer: int, calls: int, latencies: list[float]) -> None:
    exchange_user = Principal(subject=f"user{writer}")
    for n in range(calls):
        exchange = Exchange(exchange_user, f"s{writer}", "tools/call", server="files", target="write_file")
        message = messages.request(n, "tools/call", {"name": "write_file", "arguments": ARGUMENTS})
        started = time.perf_counter()
        await pipeline.run(Hook.CLIENT_REQUEST, message, exchange)
        latencies.append(time.perf_counter() - started)
        # A session waits for its next message between calls: the loop turns, and the audit log's
        # chaining task runs as it does in a gateway. Without this a spooling writer never
        # yields, its records pile up unchained, and past SPOOL_LIMIT the log refuses calls.
        await asyncio.sleep(0)


async def run_once(
    url: str, writers: int, calls: int, synchronous: str, commit: str, spool: bool, spool_dir: Path
) -> dict[str, float]:
    # PostgreSQL spools only where given a directory (audit.spool: true); SQLite beside its file.
    store = await open_url(url, synchronous, commit, spool_dir if spool else None)
    sealer = HmacSealer(secrets.token_bytes(32))
    log = AuditLog(store, sealer, spool=spool)
    await log.start()
    pipeline = Pipeline(observers=[log])
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(_writer(pipeline, w, calls, latencies) for w in range(writers)))
    await log.close()  # records/s counts until every record is in the chain, not only spooled
    elapsed = time.perf_counter() - started
    report = await verify(store, sealer)
    await store.close()
    assert report.ok and report.records == writers * calls, report
    latencies.sort()
    return {
        "records_per_s": writers * calls / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


async def _admin(sql: str) -> None:
    url = make_url(POSTGRES).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--writers", type=int, nargs="*", default=[1, 16, 64])
    parser.add_argument(
        "--calls", type=int, default=0, help="calls per writer (default: 4000 records in all)"
    )
    parser.add_argument("--sqlite-synchronous", choices=["full", "normal"], default="normal")
    parser.add_argument("--postgres-synchronous-commit", choices=["on", "off"], default="on")
    parser.add_argument(
        "--spool",
        choices=["auto", "on", "off"],
        default="auto",
        help="the audit spool (audit.spool): auto as the gateway does (SQLite on, PostgreSQL off)",
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    pg_commit = args.postgres_synchronous_commit
    print("| backend | sync | writers | records | records/s | observe p50 ms | observe p99 ms |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for backend in backends:
        for writers in args.writers:
            calls = args.calls or max(1, 4000 // writers)
            spool = args.spool == "on" or (args.spool == "auto" and backend == "sqlite")
            with tempfile.TemporaryDirectory() as tmp:
                if backend == "sqlite":
                    url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
                    result = await run_once(
                        url, writers, calls, args.sqlite_synchronous, pg_commit, spool, Path(tmp)
                    )
                else:
                    name = f"ostiary_bench_{secrets.token_hex(4)}"
                    await _admin(f'CREATE DATABASE "{name}"')
                    try:
                        url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
                        result = await run_once(
                            url, writers, calls, args.sqlite_synchronous, pg_commit, spool, Path(tmp)
                        )
                    finally:
                        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            sync = args.sqlite_synchronous if backend == "sqlite" else f"commit {pg_commit}"
            if backend == "postgres" or args.sqlite_synchronous == "normal":
                sync += ", spool" if spool else ", no spool"
            print(
                f"| {backend} | {sync} | {writers} | {writers * calls} | {result['records_per_s']:,.0f} "
                f"| {result['p50_ms']:.2f} | {result['p99_ms']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
