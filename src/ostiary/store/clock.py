"""The store's two constants of time and origin: the clock it stamps with, and the chain's start."""

from __future__ import annotations

import time

# The predecessor hash of a chain's first record.
GENESIS = "0" * 64


def now_us() -> int:
    """Wall-clock time in integer microseconds since the Unix epoch (UTC), as every table keeps it."""
    return time.time_ns() // 1000
