"""A policy that cannot be used is refused with the line that is wrong."""

from __future__ import annotations

import pytest

from ostiary.policy import PolicyError, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules:\n  - id: a\n    effect: allow\n    when: 'args.('\n", "line 4: rules.0.when (rule 'a')"),
        ("rules:\n  - id: a\n    effect: allw\n", "line 3: rules.0.effect"),
        ("rules:\n  - {id: a, effect: allow}\n  - {id: a, effect: deny}\n", "used twice"),
        ("rules:\n  - id: a\n    effect: allow\n    toolz: [x]\n", "line 4: rules.0.toolz"),
        ("rules:\n  - id: a\n    effect: redact\n", "needs 'fields'"),
        ("version: 2\n", "line 1: version"),
        ("rules: [\n", "not valid YAML"),
        ("rules:\n  - id: a\n    effect: allow\n    effect: deny\n", "line 4: duplicate key 'effect'"),
        ("- just a list\n", "must be a mapping"),
    ],
)
def test_an_invalid_policy_is_refused_with_its_line_and_reason(text: str, expected: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse(text, "team.yaml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("team.yaml")


def test_an_empty_file_is_a_valid_policy_that_denies_unknown_tools() -> None:
    policy = parse("")
    assert policy.document.rules == []
    assert policy.document.defaults.other.value == "deny"
