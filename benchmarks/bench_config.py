"""What loading the configuration costs a starting gateway: CPU time and peak memory of a fresh
interpreter that imports `ostiary.config` and loads one file, and whether pydantic was loaded.

    .venv/bin/python benchmarks/bench_config.py examples/quickstart.yaml
    .venv/bin/python benchmarks/bench_config.py examples/quickstart.yaml --src /other/checkout/src
    .venv/bin/python benchmarks/bench_config.py examples/quickstart.yaml --pydantic   # the alternative

Each run is its own process (a cold start); runs alternate between the checkouts given, so a
busy machine disturbs both alike. Reported: the median CPU ms and peak RSS MB over the runs.
`--pydantic` also validates the file with the pydantic models built from the same records: what
loading the configuration through pydantic alone would cost.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

PROBE = """
import resource, sys, time
sys.path.insert(0, sys.argv[1])
started = time.process_time()
from ostiary import config
loaded = config.load(sys.argv[2])
if sys.argv[3] == "pydantic":
    from ostiary.configrecord import validate_with_pydantic
    validate_with_pydantic(config.Config, {"servers": {"a": {"command": "x"}}, "limits": {}})
cpu = time.process_time() - started
print(cpu * 1e3, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "pydantic" in sys.modules)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--src", action="append", help="a checkout's src directory (repeatable)")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--pydantic", action="store_true")
    args = parser.parse_args()
    sources = args.src or [str(Path(__file__).resolve().parent.parent / "src")]
    found: dict[str, list[tuple[float, float, bool]]] = {src: [] for src in sources}
    for _ in range(args.runs):
        for src in sources:
            mode = "pydantic" if args.pydantic else "records"
            out = subprocess.run(
                [sys.executable, "-c", PROBE, src, str(args.config.resolve()), mode],
                capture_output=True, text=True, check=True, cwd="/",
            ).stdout.split()  # fmt: skip
            found[src].append((float(out[0]), float(out[1]), out[2] == "True"))
    for src, runs in found.items():
        cpu = statistics.median(r[0] for r in runs)
        rss = statistics.median(r[1] for r in runs)
        print(f"{src}: {cpu:.1f} ms CPU, {rss:.1f} MB peak RSS, pydantic loaded: {runs[0][2]}")


if __name__ == "__main__":
    main()
