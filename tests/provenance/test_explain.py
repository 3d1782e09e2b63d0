"""`ostiary policy explain` with flow facts: the decision a flow rule makes for given facts, and
the facts the deciding rule read, as a responder replays a call from `audit trace --json`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ostiary.cli.app import build_app

RUNNER = CliRunner()
APP = build_app()
EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "flow-policy.yaml")
FETCH = ["policy", "explain", "--policy", EXAMPLE, "--subject", "dana", "--server", "web", "--tool", "fetch"]
EGRESS = '{"egress": true, "trust": "untrusted", "data": "public"}'


def explain(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(APP, [*FETCH, *args])
    return result.exit_code, result.output


def test_an_echo_of_untrusted_content_is_denied_and_the_facts_that_decided_are_shown() -> None:
    code, out = explain(
        "--labels", EGRESS,
        "--session", '{"untrusted_seen": true, "private_seen": false}',
        "--args-from", '{"ids": ["pv-1"], "trust": ["untrusted"], "findings": ["injection"]}',
        "--json",
    )  # fmt: skip
    assert code == 3
    document = json.loads(out)
    assert document["rule"] == "no-egress-of-untrusted-echoes"
    assert document["facts"]["args_from"]["trust"] == ["untrusted"]
    assert document["facts"]["labels"]["egress"] is True


def test_the_same_call_in_a_clean_session_is_allowed() -> None:
    code, out = explain(
        "--labels", EGRESS,
        "--session", '{"untrusted_seen": false, "private_seen": false}',
        "--args-from", '{"trust": [], "findings": []}',
    )  # fmt: skip
    assert code == 0
    assert "decision: allow" in out


def test_without_flow_facts_the_flow_rules_fail_closed() -> None:
    code, out = explain("--args", '{"url": "https://example.com/"}')
    assert code == 3
    assert "no-egress-of-untrusted-echoes" in out


def test_facts_that_are_not_json_objects_are_refused() -> None:
    code, _ = explain("--session", "[1, 2]")
    assert code == 2
