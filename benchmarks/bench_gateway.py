"""What Ostiary costs: tools/call echo latency and throughput, direct versus through the gateway.

    .venv/bin/python benchmarks/bench_gateway.py            # full run
    .venv/bin/python benchmarks/bench_gateway.py --quick    # raw client only, stdio at 1 and 4 clients
    .venv/bin/python benchmarks/bench_gateway.py --at HEAD  # the gateway of a commit, not the tree

Rounds are time-capped, so the run is bounded by the number of fleets rather than by the machine's
speed; most of the time goes into starting 16 stdio servers (and 16 gateways) per client kind.

For each transport (stdio: one `ostiary run` per client, as desktop hosts do; HTTP: one
`ostiary serve` for all clients), each client (the official SDK's and a minimal raw JSON-RPC one)
and 1, 4 and 16 concurrent clients, it measures p50/p95/p99 and calls/s of the same echo server
reached directly and through the gateway, plus the gateway's CPU per call, its peak RSS and its
cold start. Prints markdown and writes `benchmarks/results/gateway-<date>.json`.

Where the load runs: all clients are asyncio tasks in this one process. The machine this was
written for has two cores; the server and the gateway need them, and extra client processes would
steal CPU from both in ways that differ between the direct and the gateway runs. One event loop
keeps the load generator to at most one core, identical on both sides of each comparison, and its
CPU per call is reported so its share is visible.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import procstat
import report
from fleet import (
    BENCH_DIR,
    ECHO_SERVER,
    Fleet,
    Kind,
    Setup,
    Transport,
    free_port,
    open_http,
    open_stdio,
    ostiary_at,
    ostiary_command,
    spawn_background,
    stop_background,
    wait_for_port,
)
from rawclient import RawStdio

CALL_TIMEOUT_S = 10.0


LOAD_PLACEMENT = (
    "client load: one process, one asyncio event loop, one task per client "
    "(2 cores: keeps the load generator to one core, the same for direct and gateway runs)"
)


@dataclass
class Tally:
    """What the rounds of one run add up to."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    loads: list[float] = field(default_factory=list)

    def close(self, run: report.Run, fleet: Fleet) -> None:
        run.record(self.latencies, self.wall)
        done = max(1, len(self.latencies))
        run.cpu_us_per_call = {role: seconds / done * 1e6 for role, seconds in self.cpu.items()}
        run.errors = len(self.errors)
        run.first_error = self.errors[0][:300] if self.errors else None
        run.load_average = round(statistics.mean(self.loads), 2) if self.loads else None
        rss = [procstat.peak_rss_kib(pid) for pid in fleet.gateway_pids]
        run.gateway_peak_rss_kib = max((r for r in rss if r is not None), default=None)


# What each call sends, echoed back as its result. short: a few characters the injection rules
# clear at once (no prose), so the learned tier never runs. prose: a benign paragraph of a status
# update that no rule flags but that has prose in it, so the first pass cannot clear it and, with
# the learned tier on, the model reads every result (issue #13's case).
PAYLOADS = {
    "short": "bench {index}/{n} é",
    "prose": (
        "Thanks for the update on the migration. The remaining consumers move next sprint, and the "
        "dashboards will follow once the new queue has run a full week without incidents "
        "(bench {index}/{n})."
    ),
}


async def drive(
    fleet: Fleet, clients: int, calls: int, warmup: int, cap_s: float, tally: Tally, payload: str = "short"
) -> None:
    """Warm up the first `clients` clients, then time `calls` echo calls spread evenly over them.

    A round also ends after `cap_s` seconds (each client finishes the call in hand), so a slow or
    busy machine makes fewer calls rather than a longer benchmark; throughput is calls over time.
    """
    active = fleet.clients[:clients]
    per_client = max(1, math.ceil(calls / clients))
    warm_until = time.perf_counter() + cap_s / 2
    stop_at = math.inf  # set when the measured part starts

    warm_text = "warm-up" if payload == "short" else PAYLOADS[payload].format(index="w", n=0)

    async def warm(client: Any) -> None:
        for _ in range(warmup):
            if time.perf_counter() > warm_until:
                return
            await asyncio.wait_for(client.echo(warm_text), CALL_TIMEOUT_S)

    async def measure(index: int, client: Any) -> None:
        for n in range(per_client):
            if time.perf_counter() > stop_at:
                return
            text = PAYLOADS[payload].format(index=index, n=n)
            start = time.perf_counter()
            try:
                got = await asyncio.wait_for(client.echo(text), CALL_TIMEOUT_S)
            except Exception as exc:
                # A client whose peer failed stops; its unmade calls count as errors too.
                tally.errors += [f"{type(exc).__name__}: {exc}"] * (per_client - n)
                return
            tally.latencies.append(time.perf_counter() - start)
            if got != text:
                tally.errors.append(f"answer mismatch: sent {text!r}, got {got[:80]!r}")

    for result in await asyncio.gather(*(warm(c) for c in active), return_exceptions=True):
        if isinstance(result, BaseException):
            tally.errors.append(f"warm-up: {type(result).__name__}: {result}")
    pids = {"gateway": fleet.gateway_pids, "server": fleet.server_pids}
    cpu_before = {role: procstat.total_cpu_seconds(p) for role, p in pids.items() if p}
    client_before = time.process_time()
    wall_start = time.perf_counter()
    stop_at = wall_start + cap_s
    await asyncio.gather(*(measure(i, c) for i, c in enumerate(active)))
    tally.wall += time.perf_counter() - wall_start
    tally.cpu["client"] = tally.cpu.get("client", 0.0) + time.process_time() - client_before
    for role, before in cpu_before.items():
        tally.cpu[role] = tally.cpu.get(role, 0.0) + procstat.total_cpu_seconds(pids[role]) - before
    tally.loads.append(os.getloadavg()[0])


async def measure_pair(
    openers: dict[str, Any], transport: Transport, kind: Kind, args: argparse.Namespace
) -> list[report.Run]:
    """Direct and gateway fleets open side by side, measured in alternating rounds.

    The machine may be shared: alternating short rounds spreads any background load evenly over
    both sides of the comparison instead of letting it land on one.
    """
    runs = {path: [report.Run(transport, kind, path, c) for c in args.levels[transport]] for path in openers}
    fleets: dict[str, Fleet] = {}
    try:
        for path, opener in openers.items():
            started = time.perf_counter()
            try:
                fleets[path] = await opener(max(args.levels[transport]))
            except Exception as exc:
                for run in runs[path]:
                    run.failed = f"{type(exc).__name__}: {exc}"[:300]
                print(f"  {transport} {kind} {path}: could not open: {runs[path][0].failed}", flush=True)
                continue
            elapsed = time.perf_counter() - started
            print(
                f"  {transport} {kind} {path}: {max(args.levels[transport])} clients open in {elapsed:.1f} s",
                flush=True,
            )
        for level, clients in enumerate(args.levels[transport]):
            tallies = {path: Tally() for path in fleets}
            for _ in range(args.rounds):
                for path, fleet in fleets.items():
                    await drive(
                        fleet,
                        clients,
                        args.calls // args.rounds,
                        args.warmup,
                        args.round_seconds,
                        tallies[path],
                        args.payload,
                    )
            for path, tally in tallies.items():
                run = runs[path][level]
                run.protocol = fleets[path].protocol
                tally.close(run, fleets[path])
                print(
                    f"    {path:>7} {clients:>2} clients: p50 {run.p50_ms:.3f} ms  p99 {run.p99_ms:.3f} ms  "
                    f"{run.calls_per_s:.0f} calls/s  errors {run.errors}"
                    + (f"  first: {run.first_error}" if run.first_error else ""),
                    flush=True,
                )
    finally:
        await asyncio.gather(*(fleet.aclose() for fleet in fleets.values()), return_exceptions=True)
    return [run for path in openers for run in runs[path]]


async def stdio_section(setup: Setup, args: argparse.Namespace) -> list[report.Run]:
    runs: list[report.Run] = []
    for kind in args.kinds:
        openers = {
            path: (lambda count, kind=kind, path=path: open_stdio(setup, path, kind, count))
            for path in args.paths
        }
        runs += await measure_pair(openers, "stdio", kind, args)
    return runs


async def http_section(setup: Setup, args: argparse.Namespace) -> list[report.Run]:
    echo_port, gateway_port = free_port(), free_port()
    echo = spawn_background([setup.python, str(ECHO_SERVER), "--http", str(echo_port)], setup.errlog)
    gateway = None
    runs: list[report.Run] = []
    try:
        await wait_for_port(echo_port, echo)
        if "gateway" in args.paths:
            config = setup.gateway_config(
                "http-gateway", f'{{url: "http://127.0.0.1:{echo_port}/mcp", prefix: ""}}'
            )
            argv = [setup.ostiary, "serve", "--config", str(config), "--host", "127.0.0.1"]
            gateway = spawn_background([*argv, "--port", str(gateway_port)], setup.errlog)
        for kind in args.kinds:
            openers = {}
            for path in args.paths:
                url = f"http://127.0.0.1:{gateway_port if path == 'gateway' else echo_port}/mcp"

                async def opener(count: int, kind: Kind = kind, url: str = url, path: str = path) -> Fleet:
                    if path == "gateway":
                        assert gateway is not None
                        await wait_for_port(gateway_port, gateway)
                    fleet = await open_http(setup, url, kind, count)
                    fleet.server_pids = [echo.pid]
                    fleet.gateway_pids = [gateway.pid] if path == "gateway" and gateway else []
                    return fleet

                openers[path] = opener
            runs += await measure_pair(openers, "http", kind, args)
    finally:
        if gateway is not None:
            stop_background(gateway)
        stop_background(echo)
    return runs


def reference_relay(mode: str, python: str, workdir: Path) -> str:
    """A command standing where `ostiary` would: the reference relay in `mode`."""
    script = workdir / f"relay-{mode}"
    relay = BENCH_DIR / "reference_relay.py"
    script.write_text(f'#!/bin/sh\nexec "{python}" "{relay}" --mode {mode} "$@"\n')
    script.chmod(0o755)
    return str(script)


async def cold_start(argv: list[str], repeats: int, errfd: int, call: bool) -> dict[str, Any]:
    """Spawn to `initialize` answer (and to the first tools/call answer), the median of `repeats`."""
    inits, firsts, exits, cpus = [], [], [], []
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            client = await RawStdio.spawn(argv, "legacy", stderr=errfd)
            try:
                await asyncio.wait_for(client.open(), 30)
                inits.append(time.perf_counter() - start)
                # CPU the process burned to get there: unlike wall time, barely moved by a busy machine.
                cpus.append(procstat.cpu_seconds(client.process.pid))
                if call:
                    await asyncio.wait_for(client.echo("cold start"), 30)
                    firsts.append(time.perf_counter() - start)
            finally:
                closing = time.perf_counter()
                await client.aclose()
                exits.append(time.perf_counter() - closing)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return {
        "initialize_s": statistics.median(inits),
        "initialize_min_s": min(inits),
        "initialize_cpu_s": statistics.median(cpus),
        "first_call_s": statistics.median(firsts) if firsts else None,
        "shutdown_s": statistics.median(exits),
        "repeats": repeats,
    }


async def cold_starts(setup: Setup, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    errfd = setup.errlog.fileno()
    found = {"echo server direct": await cold_start(setup.echo_argv(), args.cold_repeats, errfd, True)}
    if "gateway" in args.paths and not args.relay:
        with_echo = setup.gateway_run_argv(setup.stdio_gateway_config())
        alone = setup.gateway_run_argv(setup.gateway_config("no-servers", None))
        found["ostiary run + echo server"] = await cold_start(with_echo, args.cold_repeats, errfd, True)
        found["ostiary run alone (no servers)"] = await cold_start(alone, args.cold_repeats, errfd, False)
    for name, result in found.items():
        shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}
        print(f"  cold start, {name}: {shown}", flush=True)
    return found


def own_cold_start(cold: dict[str, dict[str, Any]]) -> float | None:
    """The gateway's own share: alone if it starts with no servers, else the difference."""
    alone = cold.get("ostiary run alone (no servers)", {}).get("initialize_s")
    if alone is not None:
        return float(alone)
    with_echo = cold.get("ostiary run + echo server", {}).get("initialize_s")
    direct = cold.get("echo server direct", {}).get("initialize_s")
    return float(with_echo - direct) if with_echo is not None and direct is not None else None


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="under a minute: raw client, fewer calls")
    parser.add_argument("--calls", type=int, help="measured calls per run, spread over its clients")
    parser.add_argument("--warmup", type=int, help="warm-up calls per client before each round")
    parser.add_argument("--rounds", type=int, help="alternating direct/gateway rounds per concurrency level")
    parser.add_argument(
        "--round-seconds", type=float, help="time cap of one measured round (full 4, quick 2)"
    )
    parser.add_argument("--clients", default="1,4,16", help="concurrency levels (comma-separated)")
    parser.add_argument(
        "--stdio-clients", help="concurrency levels on stdio (default: --clients; quick: 1,4)"
    )
    parser.add_argument("--kinds", help="clients: raw, sdk or raw,sdk (quick: raw)")
    parser.add_argument("--transports", default="stdio,http")
    parser.add_argument("--paths", default="direct,gateway", help="direct alone works without a gateway")
    parser.add_argument("--raw-era", choices=["legacy", "modern"], default="legacy")
    parser.add_argument("--sdk-mode", choices=["auto", "legacy"], default="auto")
    parser.add_argument("--cold-repeats", type=int)
    parser.add_argument("--python", default=sys.executable, help="interpreter for the echo server")
    parser.add_argument("--ostiary", help="the ostiary command (default: beside --python)")
    parser.add_argument(
        "--at", metavar="REV", help="measure the gateway of this commit (git archive), not the tree"
    )
    parser.add_argument(
        "--audit",
        choices=["on", "normal", "nospool", "spool", "off"],
        default="on",
        help="the gateway's audit log: on (default), normal (SQLite synchronous=NORMAL), "
        "nospool (audit.spool: false), spool (audit.spool: true, for PostgreSQL), off",
    )
    parser.add_argument(
        "--relay",
        choices=["socat", "bytes", "parse", "tasks", "callbacks", "audited"],
        help="measure a reference relay in the gateway's place (benchmarks/reference_relay.py): "
        "the floor under any gateway on this machine",
    )
    parser.add_argument(
        "--pipeline",
        choices=["quickstart", "toolfilter"],
        default="quickstart",
        help="the gateway's inspections: quickstart (default: every built-in inspection, as "
        "examples/quickstart.yaml sets them) or toolfilter (the one-stage pipeline)",
    )
    parser.add_argument(
        "--model",
        choices=["auto", "on", "off"],
        help="the gateway's detectors.model (default: unset, which is auto): off measures it "
        "without the learned tier",
    )
    parser.add_argument(
        "--payload",
        choices=sorted(PAYLOADS),
        default="short",
        help="what each call echoes: short (default; the rules clear it) or prose (a paragraph the "
        "first pass cannot clear, so the learned tier reads each result)",
    )
    parser.add_argument("--store", help="the gateway's store URL (default: SQLite in a scratch directory)")
    parser.add_argument("--out", type=Path, help="JSON results file")
    args = parser.parse_args(argv)
    args.calls = args.calls or (300 if args.quick else 2000)
    args.warmup = args.warmup if args.warmup is not None else (3 if args.quick else 10)
    args.rounds = args.rounds or 2
    args.round_seconds = args.round_seconds or (2.0 if args.quick else 3.0)
    args.cold_repeats = args.cold_repeats or (3 if args.quick else 7)
    levels = [int(c) for c in args.clients.split(",")]
    stdio = args.stdio_clients or ("1,4" if args.quick else None)
    args.levels = {"http": levels, "stdio": [int(c) for c in stdio.split(",")] if stdio else levels}
    args.kinds = (args.kinds or ("raw" if args.quick else "raw,sdk")).split(",")
    args.transports = args.transports.split(",")
    args.paths = args.paths.split(",")
    args.ostiary = args.ostiary or ostiary_command(args.python)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    args.out = args.out or BENCH_DIR / "results" / f"gateway-{today}{'-quick' if args.quick else ''}.json"
    return args


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="ostiary-bench-"))
    info = machine()
    print(f"machine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}")
    print(LOAD_PLACEMENT)
    print(
        f"calls per run {args.calls} in {args.rounds} alternating rounds, "
        f"warm-up {args.warmup}/client/round, "
        f"clients {args.levels}, kinds {args.kinds}, raw era {args.raw_era}, SDK mode {args.sdk_mode}"
    )
    source = "working tree"
    if args.at:
        args.ostiary, commit = ostiary_at(args.at, args.python, workdir)
        source = f"commit {commit}"
    if args.relay:
        args.ostiary = reference_relay(args.relay, args.python, workdir)
        source = f"reference relay {args.relay!r} (benchmarks/reference_relay.py), not Ostiary"
    print(
        f"gateway: {args.ostiary} ({source}), pipeline {args.pipeline}, audit log {args.audit}, "
        f"detectors.model {args.model or 'default'}"
    )
    with (workdir / "stderr.log").open("w") as errlog:
        setup = Setup(
            args.python,
            args.ostiary,
            workdir,
            errlog,
            args.raw_era,
            args.sdk_mode,
            args.audit,
            args.store,
            args.pipeline,
            args.model,
        )
        cold = await cold_starts(setup, args)
        runs: list[report.Run] = []
        if "stdio" in args.transports:
            runs += await stdio_section(setup, args)
        if "http" in args.transports:
            runs += await http_section(setup, args)
    rss = max((r.gateway_peak_rss_kib for r in runs if r.gateway_peak_rss_kib), default=None)
    found = (
        report.targets(runs, rss, own_cold_start(cold)) if "gateway" in args.paths and not args.relay else []
    )
    elapsed = time.perf_counter() - started
    print()
    print(report.table(runs))
    print()
    if found:
        print(report.targets_table(found))
        print()
    print(f"gateway peak RSS: {rss / 1024:.1f} MB" if rss else "gateway peak RSS: n/a")
    print(f"total time {elapsed:.0f} s; process stderr in {workdir / 'stderr.log'}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["benchmarks/bench_gateway.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": info,
        "gateway_source": source,
        "load_placement": LOAD_PLACEMENT,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "cold_start": cold,
        "gateway_peak_rss_kib": rss,
        "runs": [r.as_json() for r in runs],
        "targets": [
            {"name": t.name, "value": t.value, "limit": t.limit, "unit": t.unit, "verdict": t.verdict}
            for t in found
        ],
        "elapsed_s": round(elapsed, 1),
    }
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"results: {args.out}")
    failed = any(r.failed or r.errors for r in runs)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
