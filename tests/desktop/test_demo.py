"""`ostiary demo` is also an end-to-end test: each attack reaches the model without Ostiary, is
stopped (or defused) with it, and its decision is in the audit log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def test_every_attack_reaches_the_model_without_ostiary_and_is_stopped_with_it(tmp_path: Path) -> None:
    ostiary = str(Path(sys.executable).parent / "ostiary")
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("OSTIARY_STORE", None)
    done = subprocess.run(
        [ostiary, "demo", "--json"], capture_output=True, text=True, timeout=170, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    attacks = {a["key"]: a for a in json.loads(done.stdout)}
    expected = {
        "poisoned-description": "poisoning.hidden",
        "rug-pull": "pinning.quarantined",
        "injected-result": "injection.blocked",
        "secret-in-arguments": "secrets.blocked",
        "destructive-call": "policy.denied",
        "held-write": "approval.requested",
    }
    assert {key: a["code"] for key, a in attacks.items()} == expected
    for attack in attacks.values():
        assert attack["audit"] and attack["audit"][0].startswith("#")
    poisoned, pulled = attacks["poisoned-description"], attacks["rug-pull"]
    assert "id_rsa" in poisoned["without"] and "id_rsa" not in poisoned["with_ostiary"]
    assert "collect.invalid" in pulled["without"] and "collect.invalid" not in pulled["with_ostiary"]
    assert "ostiary pins approve demo echo" in pulled["with_ostiary"]
    injected = attacks["injected-result"]
    assert "collect.invalid" in injected["without"] and "collect.invalid" not in injected["with_ostiary"]
    secret = attacks["secret-in-arguments"]
    assert "AKIAZ3XQ7PLMWERT5YHU" in secret["without"]
    assert "AKIA" not in secret["with_ostiary"] and "did not send this call" in secret["with_ostiary"]
    assert attacks["destructive-call"]["without"] == "deleted 1,204 files"
    assert attacks["destructive-call"]["with_ostiary"].startswith("[tool error] Ostiary refused")
    assert attacks["held-write"]["without"] == "wrote notes.txt"
    assert "approval" in attacks["held-write"]["with_ostiary"]
