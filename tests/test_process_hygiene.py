"""The suite's own guarantees about processes: what tests start is reaped, what leaks is seen."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable

from conftest import live_descendants, stop_process_group


def test_an_orphaned_grandchild_is_still_seen_as_a_descendant_of_the_test_run() -> None:
    # The shell backgrounds a sleeper and exits at once: the sleeper is orphaned, and without the
    # subreaper it would be re-parented to init and escape the leak check.
    shell = subprocess.Popen(
        ["sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"], stdout=subprocess.PIPE, start_new_session=True
    )
    out, _ = shell.communicate(timeout=5)
    orphan = int(out.strip())
    try:
        assert orphan in live_descendants(os.getpid())
    finally:
        os.kill(orphan, 9)
        deadline = time.monotonic() + 3
        while orphan in live_descendants(os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert orphan not in live_descendants(os.getpid())


def test_spawned_processes_and_their_children_are_stopped_after_the_test(
    spawn: Callable[..., subprocess.Popen[bytes]],
) -> None:
    proc = spawn(["sh", "-c", "sleep 30 & sleep 30"])
    time.sleep(0.2)
    children = [pid for pid in live_descendants(os.getpid()) if pid != proc.pid]
    assert children, "the shell should have started its sleepers"
    stop_process_group(proc)
    assert proc.returncode is not None
    deadline = time.monotonic() + 3
    while any(pid in live_descendants(os.getpid()) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid in live_descendants(os.getpid()) for pid in children)
