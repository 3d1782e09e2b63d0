"""Turning measured calls into the numbers the targets are stated in, and into a markdown table."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

# The targets, with the pipeline on.
ADDED_P50_MS = {"stdio": 0.5, "http": 1.0}
THROUGHPUT_RATIO = 0.90
PEAK_RSS_MB = 60.0
COLD_START_S = 0.5


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (no interpolation: a real sample)."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Run:
    """One fleet at one concurrency: `calls` measured calls after the warm-up."""

    transport: str
    kind: str
    path: str
    clients: int
    protocol: str = ""
    calls: int = 0
    errors: int = 0
    first_error: str | None = None
    wall_s: float = 0.0
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    mean_ms: float = math.nan
    calls_per_s: float = math.nan
    # CPU microseconds spent per measured call, by process role (client = this benchmark).
    cpu_us_per_call: dict[str, float] = field(default_factory=dict)
    gateway_peak_rss_kib: int | None = None
    # 1-minute load average during the run: this machine may be shared with other work.
    load_average: float | None = None
    failed: str | None = None

    def record(self, latencies_s: list[float], wall_s: float) -> None:
        ordered = sorted(latencies_s)
        self.calls = len(ordered)
        self.wall_s = wall_s
        self.p50_ms = percentile(ordered, 0.50) * 1000
        self.p95_ms = percentile(ordered, 0.95) * 1000
        self.p99_ms = percentile(ordered, 0.99) * 1000
        self.mean_ms = (sum(ordered) / len(ordered) * 1000) if ordered else math.nan
        self.calls_per_s = len(ordered) / wall_s if wall_s > 0 else math.nan

    def as_json(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


@dataclass
class Target:
    name: str
    value: float | None
    limit: float
    unit: str
    higher_is_better: bool = False

    @property
    def verdict(self) -> str:
        if self.value is None or math.isnan(self.value):
            return "n/a"
        ok = self.value >= self.limit if self.higher_is_better else self.value <= self.limit
        return "PASS" if ok else "MISS"

    def line(self) -> str:
        sign = "≥" if self.higher_is_better else "≤"
        shown = "n/a" if self.value is None or math.isnan(self.value) else f"{self.value:.3f}"
        return f"| {self.name} | {shown} {self.unit} | {sign} {self.limit:g} {self.unit} | {self.verdict} |"


def _pairs(runs: list[Run]) -> list[tuple[Run, Run]]:
    by_key = {(r.transport, r.kind, r.clients, r.path): r for r in runs}
    pairs = []
    for r in runs:
        if r.path == "direct" and (r.transport, r.kind, r.clients, "gateway") in by_key:
            pairs.append((r, by_key[(r.transport, r.kind, r.clients, "gateway")]))
    return pairs


def _ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.2f}"


def table(runs: list[Run]) -> str:
    head = (
        "| transport | client | clients | p50 direct / gw (ms) | added p50 (ms) | p95 direct / gw | "
        "p99 direct / gw | calls/s direct / gw | ratio | gw CPU µs/call | server CPU µs/call d / gw "
        "| errors | load avg |"
    )
    lines = [head, "|" + " --- |" * 13]
    for direct, gw in _pairs(runs):
        if direct.failed or gw.failed:
            reason = (direct.failed or gw.failed or "")[:140]
            lines.append(
                f"| {direct.transport} | {direct.kind} | {direct.clients} | failed: {reason} |" + " |" * 9
            )
            continue
        added = gw.p50_ms - direct.p50_ms
        ratio = gw.calls_per_s / direct.calls_per_s if direct.calls_per_s else math.nan
        gw_cpu = gw.cpu_us_per_call.get("gateway", math.nan)
        server_cpu = (
            direct.cpu_us_per_call.get("server", math.nan),
            gw.cpu_us_per_call.get("server", math.nan),
        )
        lines.append(
            f"| {direct.transport} | {direct.kind} ({gw.protocol}) | {direct.clients} "
            f"| {_ms(direct.p50_ms)} / {_ms(gw.p50_ms)} | {added:+.3f} "
            f"| {_ms(direct.p95_ms)} / {_ms(gw.p95_ms)} | {_ms(direct.p99_ms)} / {_ms(gw.p99_ms)} "
            f"| {direct.calls_per_s:.0f} / {gw.calls_per_s:.0f} | {ratio:.2f} | {gw_cpu:.0f} "
            f"| {server_cpu[0]:.0f} / {server_cpu[1]:.0f} "
            f"| {direct.errors} / {gw.errors} | {gw.load_average} |"
        )
    return "\n".join(lines)


def _pair(runs: list[Run], transport: str, kind: str, clients: int) -> tuple[Run, Run] | None:
    for direct, gw in _pairs(runs):
        if (direct.transport, direct.kind, direct.clients) == (transport, kind, clients):
            if direct.failed or gw.failed or gw.errors or direct.errors:
                return None
            return direct, gw
    return None


def targets(runs: list[Run], gateway_rss_kib: int | None, own_cold_start_s: float | None) -> list[Target]:
    found: list[Target] = []
    kinds = sorted({r.kind for r in runs})
    transports = [t for t in ADDED_P50_MS if any(r.transport == t for r in runs)]
    for kind in kinds:
        for transport in transports:
            limit = ADDED_P50_MS[transport]
            pair = _pair(runs, transport, kind, 1)
            added = pair[1].p50_ms - pair[0].p50_ms if pair else None
            found.append(Target(f"added p50, {transport}, 1 client ({kind})", added, limit, "ms"))
        for transport in transports:
            top = max((r.clients for r in runs if r.transport == transport), default=0)
            pair = _pair(runs, transport, kind, top)
            ratio = pair[1].calls_per_s / pair[0].calls_per_s if pair else None
            found.append(
                Target(
                    f"throughput vs direct, {transport}, {top} clients ({kind})",
                    ratio,
                    THROUGHPUT_RATIO,
                    "×",
                    higher_is_better=True,
                )
            )
    rss_mb = gateway_rss_kib / 1024 if gateway_rss_kib is not None else None
    found.append(Target("gateway peak RSS (VmHWM, worst process)", rss_mb, PEAK_RSS_MB, "MB"))
    found.append(
        Target("cold start to initialize answer (gateway alone)", own_cold_start_s, COLD_START_S, "s")
    )
    return found


def targets_table(found: list[Target]) -> str:
    return "\n".join(
        ["| target | measured | goal | verdict |", "| --- | --- | --- | --- |"] + [t.line() for t in found]
    )
