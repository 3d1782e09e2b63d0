"""Where a call's CPU goes, stage by stage: the quick start's pipeline built up one stage at a time.

    .venv/bin/python benchmarks/bench_stages.py
    .venv/bin/python benchmarks/bench_stages.py --calls 3000 --profile /tmp/stages.prof
    .venv/bin/python benchmarks/bench_stages.py --model off   # without the learned tier

The whole gateway runs in this process (`ostiary.testing.connect`) in front of an echo tool on an
in-memory transport, so what is measured is Ostiary's own work per tools/call (session, routing,
pipeline, inspections, audit log), without pipes, processes or the other side's CPU. Each row adds
one stage of examples/quickstart.yaml's pipeline, in its order, and the last adds the audit log
(SQLite in a scratch directory). Reported: the best of three runs of this process's CPU time per
call, which a busy machine disturbs far less than wall time.

The echoed text is a sentence of prose that no rule flags, so with the learned tier on
(`detectors.model: auto`, the default) the injection model reads every result; `--model off`
measures the same pipeline without it.
"""

from __future__ import annotations

import argparse
import cProfile
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop
from fleet import QUICKSTART_POLICY

from ostiary import methods
from ostiary.messages import JSON
from ostiary.testing import ServerRun, ToolServer, connect

STAGES: list[dict[str, Any]] = [
    {"name": "toolfilter"},
    {"name": "pinning", "mode": "enforce"},
    {"name": "poisoning", "action": "block"},
    {"name": "policy", "file": "POLICY"},
    {"name": "injection", "action": "warn"},
    {"name": "secrets", "action": "redact"},
]
ARGUMENTS = {"text": "Summarise the open pull requests of the repository for the weekly report."}


async def echo(params: JSON, run: ServerRun) -> JSON:
    return {"content": [{"type": "text", "text": str(params.get("arguments", {}).get("text", ""))}]}


async def per_call_us(config: JSON, calls: int, profile: cProfile.Profile | None) -> float:
    server = ToolServer({"echo": echo}, name="echo")
    async with connect(config, servers={"echo": server}) as client:
        await client.initialize()
        await client.request(methods.TOOLS_LIST)
        params = {"name": "echo", "arguments": ARGUMENTS}
        for _ in range(calls // 10):
            await client.request(methods.TOOLS_CALL, params)
        best = float("inf")
        for _ in range(3):
            if profile is not None:
                profile.enable()
            started = time.process_time()
            for _ in range(calls):
                response = await client.request(methods.TOOLS_CALL, params)
            best = min(best, (time.process_time() - started) / calls * 1e6)
            if profile is not None:
                profile.disable()
            assert "result" in response.raw, response.raw
    return best


MODEL = "auto"


def config_for(stages: list[dict[str, Any]], audit: bool, workdir: Path, name: str) -> JSON:
    return {
        "detectors": {"model": MODEL},
        "servers": {"echo": {"command": "memory:echo", "prefix": ""}},
        "inspections": stages,
        "store": f"sqlite+aiosqlite:///{workdir / (name + '.db')}",
        "audit": {} if audit else {"enabled": False},
    }


async def main(calls: int, profile_path: str | None) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="ostiary-stages-"))
    policy = workdir / "policy.yaml"
    policy.write_text(QUICKSTART_POLICY)
    stages = [{**s, "file": str(policy)} if s.get("file") else s for s in STAGES]
    rows: list[tuple[str, float]] = []
    rows.append(("no stage, audit off", await per_call_us(config_for([], False, workdir, "s0"), calls, None)))
    for n in range(1, len(stages) + 1):
        label = f"+ {stages[n - 1]['name']}"
        rows.append((label, await per_call_us(config_for(stages[:n], False, workdir, f"s{n}"), calls, None)))
    profile = cProfile.Profile() if profile_path else None
    full = await per_call_us(config_for(stages, True, workdir, "full"), calls, profile)
    rows.append(("+ audit log (the quick start)", full))
    one = await per_call_us(config_for(stages[:1], True, workdir, "one"), calls, None)
    rows.append(("toolfilter + audit log (one-stage pipeline)", one))
    print(
        f"CPU per tools/call, best of 3 x {calls} calls, whole gateway in one process, "
        f"detectors.model {MODEL}"
    )
    print("| pipeline | CPU µs/call | step |")
    print("| --- | --- | --- |")
    previous = None
    for label, value in rows[:-1]:
        step = "" if previous is None else f"{value - previous:+.0f}"
        print(f"| {label} | {value:.0f} | {step} |")
        previous = value
    print(f"| {rows[-1][0]} | {rows[-1][1]:.0f} | |")
    if profile is not None and profile_path:
        profile.dump_stats(profile_path)
        print(f"profile of the quick start's runs: {profile_path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--profile", help="write a cProfile of the quick start's runs here")
    parser.add_argument("--model", choices=["auto", "on", "off"], default="auto", help="detectors.model")
    args = parser.parse_args()
    MODEL = args.model
    uvloop.run(main(args.calls, args.profile))
