"""Peak RSS (VmHWM) a process pays for the learned tier: numpy and ostiary imported first, then
the shipped model loaded and a 4 KB and a 1 MB text scored.

    .venv/bin/python eval/compare/rss.py
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ostiary.detection import injection, learned


def hwm_mb() -> float:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


def main() -> None:
    assert injection.KIND and np.__version__
    base = hwm_mb()
    model = learned.LinearModel.load(learned.shipped("injection"))
    loaded = hwm_mb()
    model.score("Thanks for the update on the migration. " * 100)
    small = hwm_mb()
    model.score("Thanks for the update on the migration. " * 26000)
    large = hwm_mb()
    print(f"VmHWM: {base:.1f} MB after imports, {loaded:.1f} MB with the model loaded "
          f"(+{loaded - base:.1f}), {small:.1f} after a 4 KB score, {large:.1f} after a 1 MB score "
          f"(+{large - base:.1f} in all)")  # fmt: skip


if __name__ == "__main__":
    main()
