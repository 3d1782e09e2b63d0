"""`ostiary policy check` and `ostiary policy explain`, as a reviewer or a CI job runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ostiary.cli.app import build_app
from policy.policies import TEAM_POLICY

RUNNER = CliRunner()
APP = build_app()


def ostiary(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(APP, list(args))
    return result.exit_code, result.output


@pytest.fixture
def team(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(TEAM_POLICY)
    return path


def test_check_accepts_a_valid_policy(team: Path) -> None:
    code, out = ostiary("policy", "check", str(team))
    assert code == 0
    assert "ok (5 rules, 2 conditions)" in out


def test_check_rejects_an_invalid_policy_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: a\n    effect: allow\n    when: 'args.path.startsWith('\n")
    code, out = ostiary("policy", "check", str(bad))
    assert code == 2
    assert "line 4: rules.0.when (rule 'a')" in out


def test_check_with_a_config_reports_servers_it_does_not_have(team: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "ostiary.yaml"
    cfg.write_text("servers:\n  fs: {command: fs}\n  mail: {command: mail}\n")
    code, out = ostiary("policy", "check", str(team), "--config", str(cfg))
    assert code == 2
    assert "deploy" in out


def explain(team: Path, *extra: str) -> tuple[int, dict[str, object]]:
    code, out = ostiary("policy", "explain", "--policy", str(team), "--json", *extra)
    return code, json.loads(out)


def test_explain_shows_the_allowing_rule_and_exits_zero(team: Path) -> None:
    code, doc = explain(
        team, "--subject", "alice", "--group", "dev", "--server", "fs", "--tool", "write_file",
        "--args", '{"path": "/srv/data/report.txt"}',
    )  # fmt: skip
    assert code == 0
    assert (doc["decision"], doc["rule"]) == ("allow", "devs-write-data")


def test_explain_shows_why_a_traversal_is_denied_and_exits_three(team: Path) -> None:
    code, doc = explain(
        team, "--subject", "alice", "--group", "dev", "--server", "fs", "--tool", "write_file",
        "--args", '{"path": "/srv/data/../../etc/passwd"}',
    )  # fmt: skip
    assert code == 3
    assert doc["decision"] == "deny"
    assert doc["rule"] is None
    assert {"rule": "devs-write-data", "effect": "allow", "outcome": "condition false"} in doc["considered"]


def test_explain_reports_a_required_approval_with_exit_four(team: Path) -> None:
    code, doc = explain(
        team, "--subject", "bob", "--group", "support", "--server", "mail", "--tool", "send_email",
        "--args", '{"to": ["eve@evil.test"]}',
    )  # fmt: skip
    assert code == 4
    assert doc["rule"] == "support-mail-external-needs-approval"


def test_explain_reads_the_policy_and_trusted_annotations_from_the_config(team: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "ostiary.yaml"
    cfg.write_text(
        f"servers:\n  notes: {{command: notes, trust_annotations: true}}\n"
        f"inspections:\n  - {{name: policy, file: {team.name}}}\n"
    )
    args = [
        "policy",
        "explain",
        "--config",
        str(cfg),
        "--subject",
        "x",
        "--server",
        "notes",
        "--tool",
        "search",
    ]
    code, out = ostiary(*args, "--annotations", '{"readOnlyHint": true}')
    assert code == 0
    assert "annotations trusted" in out
    code, _ = ostiary(*args)
    assert code == 3


def test_explain_refuses_bad_arguments_json(team: Path) -> None:
    code, out = ostiary(
        "policy",
        "explain",
        "--policy",
        str(team),
        "--subject",
        "a",
        "--server",
        "fs",
        "--tool",
        "t",
        "--args",
        "[1",
    )
    assert code == 2
    assert "--args" in out


def test_schema_prints_a_json_schema_that_knows_every_rule_field() -> None:
    code, out = ostiary("policy", "schema")
    assert code == 0
    rule = json.loads(out)["$defs"]["Rule"]
    assert {"id", "effect", "principals", "servers", "tools", "when", "fields"} <= set(rule["properties"])
    assert rule["additionalProperties"] is False
