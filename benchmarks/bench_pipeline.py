"""The pipeline's own cost per call: a tools/call request and its result through N stages.

    .venv/bin/python benchmarks/bench_pipeline.py                 # 1, 3 and 6 stages
    PYTHONPATH=/path/to/other/checkout/src .venv/bin/python benchmarks/bench_pipeline.py  # another commit

Each stage is the tool filter (a lookup that never waits, as most hooks are), no observers, on
uvloop as in the gateway. Reported: the best of five runs of the process's CPU time per call
(both hooks), which a busy machine disturbs less than wall time.
"""

from __future__ import annotations

import argparse
import time

import uvloop

from ostiary.config import ToolFilter
from ostiary.inspections.toolfilter import ToolFilterInspection
from ostiary.pipeline import Hook, Pipeline, Stage
from ostiary.testing import tool_call, tool_result


async def per_call_us(stages: int, calls: int) -> float:
    pipeline = Pipeline([Stage(ToolFilterInspection({"fs": ToolFilter()})) for _ in range(stages)])
    request, result = tool_call("fs", "read_file"), tool_result("fs", "read_file", "hello")
    for _ in range(calls // 10):  # warm-up
        await pipeline.run(Hook.CLIENT_REQUEST, *request)
        await pipeline.run(Hook.SERVER_RESPONSE, *result)
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for _ in range(calls):
            await pipeline.run(Hook.CLIENT_REQUEST, *request)
            await pipeline.run(Hook.SERVER_RESPONSE, *result)
        best = min(best, (time.process_time() - started) / calls * 1e6)
    return best


async def main(stage_counts: list[int], calls: int) -> None:
    print("| stages | µs per call (request + result) |")
    print("| ---: | ---: |")
    for stages in stage_counts:
        print(f"| {stages} | {await per_call_us(stages, calls):.2f} |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", default="1,3,6", help="stage counts (comma-separated)")
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    uvloop.run(main([int(n) for n in args.stages.split(",")], args.calls))
