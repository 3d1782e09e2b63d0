"""Cold start of `ostiary run` with the quick start's pipeline, alternated between two gateways.

    .venv/bin/python benchmarks/bench_cold_start.py --repeats 10 OSTIARY_A OSTIARY_B

Each gateway command (`ostiary`, or a wrapper that runs an export of another commit with
`PYTHONPATH`) is started in turn, with no servers and the audit log on a store of its own that
exists after the first start, as a desktop host starts it every session. Reports the wall time
and the gateway's own CPU time from spawn to the `initialize` answer, median and minimum. CPU
time is what a loaded machine distorts least; the alternation spreads the load over both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from fleet import QUICKSTART_INSPECTIONS, QUICKSTART_POLICY

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "b", "version": "1"},
    },
}


def once(command: str, config: Path) -> tuple[float, float]:
    """Wall and CPU seconds from spawn to the `initialize` answer."""
    began = time.perf_counter()
    proc = subprocess.Popen(
        [command, "run", "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(INITIALIZE).encode() + b"\n")
    proc.stdin.flush()
    proc.stdout.readline()
    wall = time.perf_counter() - began
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    proc.stdin.close()
    proc.wait(timeout=30)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commands", nargs="+", help="gateway commands to alternate")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ostiary-cold-start-"))
    policy = workdir / "policy.yaml"
    policy.write_text(QUICKSTART_POLICY)
    configs = []
    for index, _ in enumerate(args.commands):
        config = workdir / f"gateway-{index}.yaml"
        store = f"store: sqlite+aiosqlite:///{workdir / f'gateway-{index}.db'}\n"
        config.write_text("servers: {}\n" + store + QUICKSTART_INSPECTIONS.format(policy=policy))
        once(args.commands[index], config)  # creates the store
        configs.append(config)
    results: list[list[tuple[float, float]]] = [[] for _ in args.commands]
    for _ in range(args.repeats):
        for index, command in enumerate(args.commands):
            results[index].append(once(command, configs[index]))
    print(f"load average {os.getloadavg()[0]:.1f}")
    for command, runs in zip(args.commands, results, strict=True):
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        print(
            f"{command}: wall median {statistics.median(walls):.3f} s, min {min(walls):.3f} s; "
            f"CPU median {statistics.median(cpus):.2f} s, min {min(cpus):.2f} s"
        )


if __name__ == "__main__":
    main()
