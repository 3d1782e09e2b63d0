"""Policy evaluation cost per call with a generated 1,000-rule policy: p50/p95/p99.

The policy is shaped like a platform team's: 50 servers with 20 tools each, rules per group and
per tool (exact names), some globs across servers, deny rules for contractors, and a share of
rules with CEL argument conditions (path under a directory, e-mail domain, a numeric limit).
Three request mixes are timed, because cel-python's interpreter dominates whenever a condition
has to be evaluated:

- `no-condition`: the candidate rules that decide carry no CEL condition (the common case);
- `condition`: the deciding rule has a CEL condition that must be evaluated;
- `mixed`: requests drawn uniformly over all tools, principals and arguments.

Each figure is for `CompiledPolicy.evaluate` (what the policy inspection calls per request) and
also for the whole inspection hook (`PolicyInspection.on_client_request`, building facts from the
JSON-RPC message).

    .venv/bin/python benchmarks/bench_policy.py
    .venv/bin/python benchmarks/bench_policy.py --rules 1000 --calls 20000 --seed 7
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from ostiary import config as config_module
from ostiary import messages
from ostiary.identity import Principal
from ostiary.inspections.policy import build
from ostiary.pipeline import Exchange
from ostiary.policy import Request, parse
from ostiary.policy.conditions import compile_condition, new_environment, to_cel

SERVERS = 50
TOOLS = 20
GROUPS = ["dev", "support", "ops", "finance", "contractor", "sre", "data", "sales"]
CONDITIONS = [
    'path_within(args.path, "/srv/data")',
    'args.to.all(a, email_domain_in(a, ["example.com"]))',
    "args.count <= 100",
]


def generate(rules: int, rng: random.Random) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    """A policy document and the (server, tool) pairs whose rules carry a condition."""
    out: list[dict[str, Any]] = []
    conditioned: set[tuple[str, str]] = set()
    out.append({"id": "contractors-no-admin", "effect": "deny", "principals": {"groups": ["contractor"]},
                "servers": ["s*"], "tools": ["admin_*"]})  # fmt: skip
    for i in range(rules - 1):
        server, tool = f"s{rng.randrange(SERVERS)}", f"tool_{rng.randrange(TOOLS)}"
        rule: dict[str, Any] = {
            "id": f"r{i}",
            "effect": rng.choices(["allow", "deny", "approve"], weights=[75, 20, 5])[0],
            "principals": {"groups": rng.sample(GROUPS, 2)},
            "servers": [server],
            "tools": [tool],
        }
        if i % 25 == 0:  # a few globs, which the index cannot key exactly
            rule["tools"] = [f"tool_{rng.randrange(TOOLS)}*"]
            rule["servers"] = [f"s{rng.randrange(5)}*"]
        elif i % 10 == 0:
            rule["when"] = CONDITIONS[i % len(CONDITIONS)]
            conditioned.add((server, tool))
        out.append(rule)
    return {"version": 1, "rules": out}, conditioned


def arguments(rng: random.Random) -> dict[str, Any]:
    return {
        "path": rng.choice(["/srv/data/a.txt", "/srv/data/../etc/passwd", "/home/x"]),
        "to": [rng.choice(["a@example.com", "b@evil.test"])],
        "count": rng.randrange(200),
    }


def requests(
    n: int, rng: random.Random, conditioned: set[tuple[str, str]], mix: str
) -> list[tuple[Principal, Request]]:
    out = []
    while len(out) < n:
        server, tool = f"s{rng.randrange(SERVERS)}", f"tool_{rng.randrange(TOOLS)}"
        has_condition = (server, tool) in conditioned
        if (mix == "condition" and not has_condition) or (mix == "no-condition" and has_condition):
            continue
        principal = Principal(f"user{rng.randrange(500)}", frozenset(rng.sample(GROUPS, 2)), method="jwt")
        out.append((principal, Request("tool", server, tool, arguments(rng))))
    return out


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1e6, cuts[94] * 1e6, cuts[98] * 1e6


async def hook_latencies(policy_file: Path, calls: list[tuple[Principal, Request]]) -> list[float]:
    cfg = config_module.parse("", "bench.yaml", str(policy_file.parent))
    inspection = build({"file": policy_file.name, "watch": False}, cfg)
    samples = []
    for principal, request in calls:
        message = messages.request(1, "tools/call", {"name": request.name, "arguments": dict(request.args)})
        exchange = Exchange(
            principal, "s", "tools/call", request.server, request.name, {"name": request.name}
        )
        started = time.perf_counter()
        await inspection.on_client_request(message, exchange)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    document, conditioned = generate(options.rules, rng)
    text = yaml.safe_dump(document, sort_keys=False)
    started = time.perf_counter()
    policy = parse(text)
    load_ms = (time.perf_counter() - started) * 1e3
    conditions = sum(1 for r in document["rules"] if "when" in r)
    print(f"policy: {options.rules} rules ({conditions} with CEL conditions), compiled in {load_ms:.0f} ms")
    print("| mix | layer | calls | p50 µs | p95 µs | p99 µs |\n|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        policy_file = Path(tmp) / "policy.yaml"
        policy_file.write_text(text)
        for mix in ("no-condition", "condition", "mixed"):
            calls = requests(options.calls, rng, conditioned, mix)
            for principal, request in calls[:500]:  # warm the per-target candidate cache
                policy.evaluate(principal, request)
            samples = []
            for principal, request in calls:
                t0 = time.perf_counter()
                policy.evaluate(principal, request)
                samples.append(time.perf_counter() - t0)
            p50, p95, p99 = percentiles(samples)
            print(f"| {mix} | evaluate | {len(calls)} | {p50:.1f} | {p95:.1f} | {p99:.1f} |")
            hook = asyncio.run(hook_latencies(policy_file, calls))
            p50, p95, p99 = percentiles(hook)
            print(f"| {mix} | inspection hook | {len(calls)} | {p50:.1f} | {p95:.1f} | {p99:.1f} |")
    print("\n| one CEL condition (cel-python) | p50 µs | p95 µs |\n|---|---:|---:|")
    environment = new_environment()
    for source in CONDITIONS:
        condition = compile_condition(environment, source)
        activation = {"args": to_cel(arguments(rng))}
        samples = []
        for _ in range(2000):
            t0 = time.perf_counter()
            condition.holds(activation)
            samples.append(time.perf_counter() - t0)
        p50, p95, _ = percentiles(samples)
        print(f"| `{source}` | {p50:.0f} | {p95:.0f} |")


if __name__ == "__main__":
    main()
