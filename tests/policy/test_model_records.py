"""A policy file is read without pydantic when it is plainly valid, and exactly as pydantic reads it.

The policy's model is made of the configuration's typed records (`configrecord.py`), so a gateway
that loads a correct policy does not load pydantic; anything doubtful is pydantic's to decide.
These tests hold the fast path to pydantic's answer, value for value and error for error.
"""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ostiary.configrecord import validate_with_pydantic
from ostiary.policy import Effect, PolicyDocument
from ostiary.policy.loader import PolicyError, parse

ODD = st.sampled_from(
    [None, True, False, 0, 1, -1, 2, 0.0, 0.5, -2.5, math.inf, "", "x", "5", "yes", "allow", "ALLOW",
     "redact", [], ["a"], [1], {}, {"k": "v"}, {"k": 1}, {1: "v"}]
)  # fmt: skip
STRINGS = st.lists(st.sampled_from(["*", "git", "read_*", ""]), max_size=3)
EFFECTS = st.sampled_from(["allow", "deny", "approve", "redact", "Allow", "block"])


def _maybe_odd(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(good, good, good, ODD)


def _section(
    fields: dict[str, st.SearchStrategy[Any]], required: tuple[str, ...] = ()
) -> st.SearchStrategy[Any]:
    keyed = st.fixed_dictionaries(
        {k: _maybe_odd(v) for k, v in fields.items() if k in required},
        optional={k: _maybe_odd(v) for k, v in fields.items() if k not in required},
    )
    unknown = st.dictionaries(st.sampled_from(["efect", "extra"]), ODD, max_size=1)
    return st.one_of(keyed, keyed, keyed, st.builds(lambda a, b: {**a, **b}, keyed, unknown), ODD)


RULE = _section(
    {
        "id": st.sampled_from(["r1", "r2", "never-reset", "bad id", "-x", ""]),
        "effect": EFFECTS,
        "description": st.just("why"),
        "principals": _section({"subjects": STRINGS, "groups": STRINGS, "clients": STRINGS}),
        "servers": STRINGS,
        "tools": st.one_of(st.none(), STRINGS),
        "resources": st.one_of(st.none(), STRINGS),
        "annotations": st.dictionaries(
            st.sampled_from(["readOnlyHint", "title"]), st.sampled_from([True, "x", 1, 1.5])
        ),
        "labels": st.dictionaries(
            st.sampled_from(["egress", "data", "colour"]), st.sampled_from([True, "x"])
        ),
        "read_only": st.booleans(),
        "fields": STRINGS,
        "approvers": STRINGS,
        "expires": st.sampled_from([None, 60, 0.5, 0, -1]),
    },
    required=("id", "effect"),
)
DOCUMENT = _section(
    {
        "version": st.sampled_from([1, 2]),
        "defaults": _section({"read_only": EFFECTS, "other": EFFECTS}),
        "read_only": _section({"tools": st.dictionaries(st.sampled_from(["git", "time"]), STRINGS)}),
        "rules": st.lists(RULE, max_size=3),
    }
)


def _outcome(read: Any, data: Any) -> tuple[str, Any]:
    try:
        return "ok", read(data)
    except ValidationError as exc:
        return "error", exc.errors(include_url=False, include_context=False)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENT)
def test_a_policy_reads_as_pydantic_reads_it(data: Any) -> None:
    fast = _outcome(PolicyDocument.validate, data)
    reference = _outcome(lambda d: validate_with_pydantic(PolicyDocument, d), data)
    assert fast[0] == reference[0], (fast, reference)
    assert repr(fast[1]) == repr(reference[1]), (fast, reference)


def test_effects_are_members_and_checks_still_refuse() -> None:
    document = PolicyDocument.validate(
        {"defaults": {"other": "approve"}, "rules": [{"id": "a", "effect": "deny"}]}
    )
    assert document.defaults.other is Effect.APPROVE and document.rules[0].effect is Effect.DENY
    with pytest.raises(PolicyError, match=r"line 3: rules\.0\.expires: Input should be greater than 0"):
        parse("rules:\n  - {id: a, effect: approve,\n     expires: 0}\n", "p.yaml")
    with pytest.raises(PolicyError, match="rule id 'a' is used twice"):
        parse("rules:\n  - {id: a, effect: deny}\n  - {id: a, effect: allow}\n", "p.yaml")


def test_a_plain_policy_loads_without_pydantic() -> None:
    probe = (
        "import sys\n"
        "from ostiary.policy.loader import parse\n"
        "policy = parse('defaults: {other: approve}\\nread_only: {tools: {git: [git_status]}}\\n"
        "rules:\\n  - {id: r, effect: redact, fields: [a.b], labels: {egress: true}, expires: null}\\n')\n"
        "print('pydantic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
