"""What each of the quick start's inspections adds to a gateway's memory, stage by stage.

    .venv/bin/python benchmarks/bench_stage_memory.py               # detectors.model: auto (the default)
    .venv/bin/python benchmarks/bench_stage_memory.py --model off   # without the learned tier

For 0 to 6 stages of examples/quickstart.yaml's pipeline (in its order), a fresh interpreter
builds and starts a gateway with no servers and the audit log on (SQLite in a scratch
directory), then reports its resident memory and the top-level packages the stage brought in.
The last row signs one audit witness entry in the full pipeline's gateway: what a gateway holds
from its first checkpoint on.
Memory does not depend on the machine's load, so one run suffices.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from fleet import QUICKSTART_INSPECTIONS, QUICKSTART_POLICY

CHILD = r"""
import json, sys
import uvloop
from ostiary.config import parse
from ostiary.gateway import Gateway

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024

async def main():
    gateway = Gateway(parse(sys.argv[1]))
    await gateway.start()
    started = {"rss": status("VmRSS"), "hwm": status("VmHWM"), "modules": sorted(sys.modules)}
    # What the audit witness adds from a gateway's first signed checkpoint on.
    from ostiary.audit.witness import entry_of, public_key_of
    from ostiary.store import Checkpoint
    seed = bytes(32)
    entry_of(Checkpoint("c", "periodic", 1, "h", 1, "k", "s"), "sqlite", seed, public_key_of(seed))
    witnessed = {"rss": status("VmRSS"), "hwm": status("VmHWM"), "modules": sorted(sys.modules)}
    print(json.dumps({**started, "witnessed": witnessed}))
    await gateway.close()

uvloop.run(main())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", choices=["auto", "on", "off"], default="auto", help="detectors.model (default auto)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ostiary-stage-memory-"))
    policy = workdir / "policy.yaml"
    policy.write_text(QUICKSTART_POLICY)
    stages = QUICKSTART_INSPECTIONS.format(policy=policy).splitlines()[1:]
    print("| stages | VmRSS MB | step | new top-level packages |")
    print("| --- | ---: | ---: | --- |")
    previous: dict[str, object] | None = None
    for count in range(len(stages) + 1):
        listed = "".join(f"{line}\n" for line in stages[:count])
        text = f"servers: {{}}\nstore: sqlite+aiosqlite:///{workdir / f's{count}.db'}\n"
        text += f"detectors: {{model: {args.model}}}\n"
        text += f"inspections:\n{listed}" if count else "inspections: []\n"
        out = subprocess.run([sys.executable, "-c", CHILD, text], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        name = "none" if count == 0 else stages[count - 1].strip("- {}").split(",")[0].removeprefix("name: ")
        step, packages = "", ""
        if previous is not None:
            step = f"{result['rss'] - previous['rss']:+.1f}"  # type: ignore[operator]
            new = set(result["modules"]) - set(previous["modules"])  # type: ignore[arg-type]
            packages = " ".join(sorted({m.split(".")[0] for m in new}))
        print(f"| + {name} | {result['rss']:.1f} | {step} | {packages} |")
        previous = result
    assert previous is not None
    witnessed = previous["witnessed"]  # type: ignore[index]
    new = " ".join(sorted({m.split(".")[0] for m in set(witnessed["modules"]) - set(previous["modules"])}))  # type: ignore[arg-type]
    step = f"{witnessed['rss'] - previous['rss']:+.1f}"  # type: ignore[operator]
    print(f"| + the first witnessed checkpoint | {witnessed['rss']:.1f} | {step} | {new} |")


if __name__ == "__main__":
    main()
