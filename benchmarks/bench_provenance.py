"""What provenance costs a call: echo links against the size of the session's trace, and the
gateway's added latency with the shipped flow rules on.

1. `echo`: in process, the provenance stage's hook on a call (argument fragments, index lookups,
   the session's facts) after the session has read 0 B to 4 MB of results, for a typical call
   (a URL and a sentence) and one whose argument pastes 4 KB of an earlier result; and the cost
   of indexing a result, per MB, which a result pays on the next turn of the loop, not on its
   way to the client.
2. `pipeline`: in process, the CPU time of one call and its result through the pipeline (with
   each decision's audit record built, not stored), stage sets added one at a time.
3. `gateway`: `ostiary run` in front of the benchmark's echo server, one raw client, sequential
   calls, rounds alternating between the server reached directly, the gateway with its default
   pipeline (toolfilter), and the gateway with `injection`, `provenance` and `policy` running
   examples/flow-policy.yaml, once with the echo tool as a local tool (the rules' labels do not
   match: no CEL is evaluated) and once labelled as an egress tool (all three rules' conditions
   are evaluated on every call). Each gateway's session first reads 1 MB of results through it, and every
   measured call echoes earlier results, so each call is linked. Reports p50 wall time per call
   and the gateway process's CPU per call (less sensitive to other load on the machine).

    .venv/bin/python benchmarks/bench_provenance.py
    .venv/bin/python benchmarks/bench_provenance.py --section echo --calls 5000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from rawclient import RawStdio

from ostiary import config as config_module
from ostiary import messages, methods
from ostiary.audit.record import record_of
from ostiary.identity import Principal
from ostiary.inspections import build_stages
from ostiary.inspections.provenance import ProvenanceInspection
from ostiary.inspections.provenance import build as build_provenance
from ostiary.pipeline import Decision, Exchange, Hook, Pipeline
from ostiary.provenance.labels import Labels
from ostiary.provenance.trace import Entry

BENCH = Path(__file__).resolve().parent
ECHO_SERVER = BENCH / "echo_server.py"
FLOW_POLICY = BENCH.parent / "examples" / "flow-policy.yaml"
VOCABULARY = [f"{w}{i}" for i in range(400) for w in ("re", "da", "lo")]
TICKS = os.sysconf("SC_CLK_TCK")


def prose(rng: random.Random, size: int) -> str:
    """Text shaped like tool results: words, with a URL, a path or an address now and then."""
    parts: list[str] = []
    length = 0
    while length < size:
        roll = rng.random()
        if roll < 0.01:
            word = f"https://h{rng.randrange(10_000)}.example.com/p/{rng.randrange(10**6)}"
        elif roll < 0.015:
            word = f"/srv/data/{rng.randrange(10**6)}/file.txt"
        elif roll < 0.02:
            word = f"user{rng.randrange(10**5)}@corp.example"
        else:
            word = rng.choice(VOCABULARY)
        parts.append(word)
        length += len(word) + 1
    return " ".join(parts)


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[94], cuts[98]


async def echo_section(args: argparse.Namespace) -> None:
    print("## echo links: the provenance hook per call (CPU time), against the session's trace\n")
    print("| results read | fragments indexed | call | p50 µs | p95 µs | p99 µs | links |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    rng = random.Random(16)
    chunk = 8 * 1024
    for total in (0, 64 * 1024, 1 << 20, 4 << 20):
        inspection = build_provenance({}, config_module.Config())
        trace = inspection.traces.get("bench", time.monotonic())
        texts = [prose(rng, chunk) for _ in range(total // chunk)]
        for i, text in enumerate(texts):
            trace.add(Entry(f"pv-{i}", 0, "s", "t", "tools/call", Labels()), [text], untrusted=False)
        trace.flush()
        pasted = texts[len(texts) // 2][:4096] if texts else prose(rng, 4096)
        calls = {
            "URL + sentence": {"url": "https://api.example.com/v1/items?id=42", "note": prose(rng, 160)},
            "4 KB pasted": {"body": pasted},
        }
        for name, arguments in calls.items():
            samples, links = await _time_calls(inspection, arguments, args.calls)
            p50, p95, p99 = percentiles(samples)
            print(
                f"| {total // 1024} KB | {trace.indexed} | {name} | {p50:.1f} | {p95:.1f} | {p99:.1f} "
                f"| {links} |"
            )
    print()
    text = prose(rng, 1 << 20)
    trace = build_provenance({}, config_module.Config()).traces.get("bench", 0.0)
    started = time.process_time()
    for i in range(5):
        trace.add(Entry(f"pv-{i}", 0, "s", "t", "tools/call", Labels()), [text], untrusted=False)
        trace.flush()
    per_mb = (time.process_time() - started) / 5 * 1000
    print(f"indexing a result: {per_mb:.0f} ms of CPU per MB (off the result's path, see the module)")
    tracemalloc.start()
    trace = build_provenance({}, config_module.Config()).traces.get("bench", 0.0)
    for i in range(128):
        trace.add(Entry(f"pv-{i}", 0, "s", "t", "tools/call", Labels()), [prose(rng, chunk)], untrusted=False)
        trace.flush()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"memory of a session's trace after 1 MB of results: {held / 1e6:.1f} MB", end="")
    print(f" ({trace.indexed} fragments)\n")


async def _time_calls(
    inspection: ProvenanceInspection, arguments: dict[str, Any], calls: int
) -> tuple[list[float], int]:
    principal = Principal(subject="bench")
    request = messages.request(1, methods.TOOLS_CALL, {"name": "fetch", "arguments": arguments})
    samples: list[float] = []
    links = 0
    for _ in range(calls):
        exchange = Exchange(principal, "bench", methods.TOOLS_CALL, "s", "fetch")
        # The thread's CPU time, not wall time: on a shared machine a call preempted by another
        # process would otherwise count the other process's time slice.
        started = time.thread_time_ns()
        await inspection.on_client_request(request, exchange)
        samples.append((time.thread_time_ns() - started) / 1000)
        links = len(exchange.notes["provenance.call"]["echoes"])
    return samples, links


def gateway_config(workdir: Path, name: str, flow: bool, egress: bool = False) -> Path:
    server = f'{{command: "{sys.executable}", args: ["{ECHO_SERVER}"], prefix: ""'
    if flow:
        server += f", labels: {{egress: {'true' if egress else 'false'}, data: public}}"
        inspections = (
            "  - {name: toolfilter}\n  - {name: injection, action: warn}\n"
            "  - {name: provenance}\n  - {name: policy, file: flow-policy.yaml}\n"
        )
        (workdir / "flow-policy.yaml").write_text(FLOW_POLICY.read_text())
    else:
        inspections = "  - {name: toolfilter}\n"
    text = (
        f"servers:\n  echo: {server}}}\ninspections:\n{inspections}"
        f"store: sqlite+aiosqlite:///{workdir / (name + '.db')}\n"
    )
    path = workdir / f"{name}.yaml"
    path.write_text(text)
    return path


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def gateway_section(args: argparse.Namespace) -> None:
    print("## the gateway's added p50 with flow rules on (stdio, one raw client)\n")
    workdir = Path(tempfile.mkdtemp(prefix="ostiary-bench-provenance-"))
    ostiary = str(Path(sys.executable).parent / "ostiary")
    argv = {
        "direct": [sys.executable, str(ECHO_SERVER)],
        "gateway": [ostiary, "run", "--config", str(gateway_config(workdir, "base", flow=False))],
        "gateway + flow rules": [ostiary, "run", "--config", str(gateway_config(workdir, "flow", flow=True))],
        "gateway + flow rules, egress tool": [
            ostiary,
            "run",
            "--config",
            str(gateway_config(workdir, "egress", flow=True, egress=True)),
        ],
    }
    rng = random.Random(7)
    seed = [prose(rng, 64 * 1024) for _ in range(16)]  # 1 MB of results read before measuring
    texts = [prose(rng, 200) for _ in range(64)]
    wall: dict[str, list[float]] = {name: [] for name in argv}
    cpu: dict[str, list[float]] = {name: [] for name in argv}
    with (workdir / "stderr.log").open("w") as errlog:
        clients = {
            name: await RawStdio.spawn(cmd, "legacy", stderr=errlog.fileno()) for name, cmd in argv.items()
        }
        try:
            for client in clients.values():
                await client.open()
                for text in seed:
                    await client.echo(text)
            for _ in range(args.rounds):
                for name, client in clients.items():
                    for text in texts[:8]:
                        await client.echo(text)  # warm-up
                    pid = client.process.pid
                    before = cpu_seconds(pid)
                    for i in range(args.calls // args.rounds):
                        text = f"{texts[i % len(texts)]} {texts[(i + 1) % len(texts)][:120]}"
                        started = time.perf_counter_ns()
                        await client.echo(text)
                        wall[name].append((time.perf_counter_ns() - started) / 1e6)
                    cpu[name].append((cpu_seconds(pid) - before) / (args.calls // args.rounds) * 1e3)
        finally:
            for client in clients.values():
                await client.aclose()
    direct = statistics.median(wall["direct"])
    print("| path | p50 ms | added p50 ms | p95 ms | process CPU per call ms |")
    print("|---|---:|---:|---:|---:|")
    for name in argv:
        p50, p95, _ = percentiles(wall[name])
        added = "" if name == "direct" else f"{p50 - direct:.3f}"
        print(f"| {name} | {p50:.3f} | {added} | {p95:.3f} | {statistics.mean(cpu[name]):.3f} |")
    print(f"\n{args.calls} calls per path in {args.rounds} alternating rounds; CPU is the process's own")
    print("(the gateway's, without its server's; the direct row is the echo server's)")


class _Records:
    """Builds each decision's audit record, as the audit observer does, without a store."""

    async def observe(self, decision: Decision) -> None:
        record_of(decision)


async def pipeline_section(args: argparse.Namespace) -> None:
    print("## the pipeline in process: CPU per call and its result, by stages (after 1 MB read)\n")
    print("| stages | calls | p50 µs | p95 µs | added p50 µs |")
    print("|---|---|---:|---:|---:|")
    workdir = Path(tempfile.mkdtemp(prefix="ostiary-bench-provenance-"))
    (workdir / "flow-policy.yaml").write_text(FLOW_POLICY.read_text())
    variants = {
        "toolfilter": "  - {name: toolfilter}\n",
        "+ injection": "  - {name: toolfilter}\n  - {name: injection, action: warn}\n",
        "+ injection, provenance": (
            "  - {name: toolfilter}\n  - {name: injection, action: warn}\n  - {name: provenance}\n"
        ),
        "+ injection, provenance, flow rules": (
            "  - {name: toolfilter}\n  - {name: injection, action: warn}\n  - {name: provenance}\n"
            "  - {name: policy, file: flow-policy.yaml, watch: false}\n"
        ),
        "+ injection, provenance, flow rules, egress tool": "egress",
    }
    rng = random.Random(7)
    seed = [prose(rng, 64 * 1024) for _ in range(16)]
    texts = [prose(rng, 200) for _ in range(64)]
    fresh = [prose(rng, 320) for _ in range(args.calls)]
    workloads = {
        "fresh": lambda i: fresh[i],
        "echoing": lambda i: f"{texts[i % len(texts)]} {texts[(i + 1) % len(texts)][:120]}",
    }
    base: dict[str, float] = {}
    for name, variant in variants.items():
        egress = variant == "egress"
        stages = variants["+ injection, provenance, flow rules"] if egress else variant
        labels = f"labels: {{egress: {'true' if egress else 'false'}, data: public}}"
        cfg = config_module.parse(
            f"servers:\n  echo: {{command: x, prefix: '', {labels}}}\ninspections:\n{stages}",
            base_dir=str(workdir),
        )
        built = build_stages(cfg)
        watchers: list[Any] = [s.inspection for s in built if hasattr(s.inspection, "observe")]
        pipeline = Pipeline(built, [*watchers, _Records()])
        await pipeline.start()
        for i, text in enumerate(seed):
            await _round_trip(pipeline, text, i)
        for workload, text_of in workloads.items():
            samples = []
            for i in range(args.calls):
                text = text_of(i)
                started = time.thread_time_ns()
                await _round_trip(pipeline, text, i)
                await asyncio.sleep(0)  # the result's indexing runs on the next turn of the loop
                samples.append((time.thread_time_ns() - started) / 1000)
            p50, p95, _ = percentiles(samples)
            base.setdefault(workload, p50)
            print(f"| {name} | {workload} | {p50:.0f} | {p95:.0f} | {p50 - base[workload]:.0f} |")
        await pipeline.close()
    print("\nfresh: each call's text is new; echoing: it repeats two earlier results (so it is linked)")
    print("the echo server returns the call's text, so every result is indexed in both\n")


async def _round_trip(pipeline: Pipeline, text: str, i: int) -> None:
    exchange = Exchange(Principal(subject="bench"), "bench", methods.TOOLS_CALL, "echo", "echo")
    request = messages.request(i, methods.TOOLS_CALL, {"name": "echo", "arguments": {"text": text}})
    decision = await pipeline.run(Hook.CLIENT_REQUEST, request, exchange)
    if not decision.forwarded:
        raise SystemExit(f"the benchmark's call was refused: {decision.verdict.code}")
    result = messages.result(i, {"content": [{"type": "text", "text": text}]})
    await pipeline.run(Hook.SERVER_RESPONSE, result, exchange)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=["echo", "pipeline", "gateway", "all"], default="all")
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
    if args.section in ("echo", "all"):
        await echo_section(args)
    if args.section in ("pipeline", "all"):
        await pipeline_section(args)
    if args.section in ("gateway", "all"):
        await gateway_section(args)


if __name__ == "__main__":
    asyncio.run(main())
