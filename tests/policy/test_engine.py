"""The engine alone: which rule decides, argument conditions, defaults, and what explain says."""

from __future__ import annotations

import pytest

from ostiary.identity import Principal
from ostiary.policy import Effect, Request, parse
from policy.policies import ALICE, BOB, CAROL, TEAM_POLICY

POLICY = parse(TEAM_POLICY)


def write(path: str) -> Request:
    return Request("tool", "fs", "write_file", {"path": path, "content": "x"})


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/srv/data/report.txt", True),
        ("/srv/data", True),
        ("/srv/data/a/../b.txt", True),
        ("/srv/data/../secrets.txt", False),
        ("/srv/data/../../etc/passwd", False),
        ("/srv/data/./../../etc/shadow", False),
        ("/srv/database/x", False),  # a sibling that merely shares the prefix
        ("//srv/data/x", True),
        ("srv/data/x", False),  # relative: the server's working directory is unknown
        ("file:///srv/data/x", True),
        ("file:///srv/data/%2e%2e/x", False),  # percent-encoded .. in a URI
        ("/srv/data/\x00/../../etc", False),
    ],
)
def test_write_path_must_stay_under_the_data_directory_after_normalisation(path: str, allowed: bool) -> None:
    decision = POLICY.evaluate(ALICE, write(path))
    assert decision.effect is (Effect.ALLOW if allowed else Effect.DENY)
    assert decision.rule_id == ("devs-write-data" if allowed else None)


@pytest.mark.parametrize(
    ("to", "effect", "rule"),
    [
        (["ann@example.com"], Effect.ALLOW, "mail-internal"),
        (["ann@EXAMPLE.org", "Bo <bo@example.com>"], Effect.ALLOW, "mail-internal"),
        (["ann@example.com", "eve@evil.test"], Effect.DENY, None),
        (["eve@example.com.evil.test"], Effect.DENY, None),
        (["eve@evil.test@example.com"], Effect.DENY, None),
        (["not-an-address"], Effect.DENY, None),
    ],
)
def test_email_recipients_must_all_be_in_an_allowed_domain(
    to: list[str], effect: Effect, rule: str | None
) -> None:
    decision = POLICY.evaluate(ALICE, Request("tool", "mail", "send_email", {"to": to}))
    assert (decision.effect, decision.rule_id) == (effect, rule)


def test_external_mail_from_support_needs_approval_while_internal_mail_does_not() -> None:
    external = POLICY.evaluate(BOB, Request("tool", "mail", "send_email", {"to": ["eve@evil.test"]}))
    internal = POLICY.evaluate(BOB, Request("tool", "mail", "send_email", {"to": ["ann@example.com"]}))
    # The approve rule is unconditional, and approve outranks allow: support always asks.
    assert (external.effect, external.rule_id) == (Effect.APPROVE, "support-mail-external-needs-approval")
    assert internal.effect is Effect.APPROVE


def test_a_deny_rule_wins_over_an_allow_rule_that_also_matches() -> None:
    decision = POLICY.evaluate(CAROL, write("/srv/data/x"))
    assert (decision.effect, decision.rule_id) == (Effect.DENY, "contractors-no-files")
    assert "contractors-no-files" in decision.reason


def test_an_unannotated_write_tool_is_denied_by_default() -> None:
    decision = POLICY.evaluate(ALICE, Request("tool", "fs", "delete_file", {"path": "/srv/data/x"}))
    assert decision.effect is Effect.DENY
    assert decision.rule_id is None


def test_a_tool_the_operator_declares_read_only_is_allowed_by_default() -> None:
    decision = POLICY.evaluate(BOB, Request("tool", "fs", "read_file", {"path": "/etc/passwd"}))
    assert decision.effect is Effect.ALLOW


def test_read_only_annotations_grant_only_when_the_server_is_trusted() -> None:
    notes = {"readOnlyHint": True}
    untrusted = Request("tool", "other", "lookup", {}, notes, annotations_trusted=False)
    trusted = Request("tool", "other", "lookup", {}, notes, annotations_trusted=True)
    assert POLICY.evaluate(BOB, untrusted).effect is Effect.DENY
    assert POLICY.evaluate(BOB, trusted).effect is Effect.ALLOW


def test_untrusted_annotations_can_restrict_but_never_grant() -> None:
    policy = parse(
        """
rules:
  - {id: allow-readonly, effect: allow, annotations: {readOnlyHint: true}}
  - {id: ask-destructive, effect: approve, annotations: {destructiveHint: true}}
"""
    )
    grant = Request("tool", "s", "t", {}, {"readOnlyHint": True}, annotations_trusted=False)
    restrict = Request("tool", "s", "t", {}, {"destructiveHint": True}, annotations_trusted=False)
    assert policy.evaluate(ALICE, grant).effect is Effect.DENY
    assert policy.evaluate(ALICE, restrict).rule_id == "ask-destructive"


def test_a_condition_that_fails_to_evaluate_never_grants_and_always_restricts() -> None:
    policy = parse(
        """
defaults: {read_only: allow, other: allow}
rules:
  - {id: deny-if-big, effect: deny, tools: [t], when: "args.size > 10"}
  - {id: allow-if-small, effect: allow, tools: [u], when: "args.size < 10"}
"""
    )
    # 'size' is missing: the deny rule applies, the allow rule does not (default allow is kept).
    assert policy.evaluate(ALICE, Request("tool", "s", "t", {})).rule_id == "deny-if-big"
    assert policy.evaluate(ALICE, Request("tool", "s", "u", {})).rule_id is None


def test_rules_match_principals_by_subject_group_or_client() -> None:
    policy = parse(
        """
defaults: {read_only: deny, other: deny}
rules:
  - {id: by-subject, effect: allow, principals: {subjects: ["svc-*"]}, tools: [a]}
  - {id: by-client, effect: allow, principals: {clients: [cursor]}, tools: [b]}
"""
    )
    svc = Principal("svc-backup")
    cursor = Principal("zoe", client_id="cursor")
    assert policy.evaluate(svc, Request("tool", "s", "a")).effect is Effect.ALLOW
    assert policy.evaluate(cursor, Request("tool", "s", "a")).effect is Effect.DENY
    assert policy.evaluate(cursor, Request("tool", "s", "b")).effect is Effect.ALLOW


def test_resource_uris_are_an_allowlist() -> None:
    policy = parse(
        """
defaults: {read_only: deny, other: deny}
rules:
  - {id: docs, effect: allow, servers: [wiki], resources: ["wiki://public/*"]}
"""
    )
    assert policy.evaluate(BOB, Request("resource", "wiki", "wiki://public/a")).effect is Effect.ALLOW
    assert policy.evaluate(BOB, Request("resource", "wiki", "wiki://private/a")).effect is Effect.DENY
    assert policy.evaluate(BOB, Request("tool", "wiki", "wiki://public/a")).effect is Effect.DENY


def test_glob_and_exact_rules_are_both_found_for_a_target() -> None:
    policy = parse(
        """
rules:
  - {id: exact, effect: allow, servers: [git], tools: [git_status]}
  - {id: glob-deny, effect: deny, servers: ["g*"], tools: ["git_*"], principals: {groups: [contractor]}}
"""
    )
    assert policy.evaluate(ALICE, Request("tool", "git", "git_status")).rule_id == "exact"
    assert policy.evaluate(CAROL, Request("tool", "git", "git_status")).rule_id == "glob-deny"


def test_explain_names_the_deciding_rule_and_why_the_others_did_not_apply() -> None:
    explanation = POLICY.explain(BOB, write("/srv/data/../x"))
    assert explanation.decision.effect is Effect.DENY
    assert explanation.decision.rule_id is None
    assert explanation.read_only is False
    outcomes = {step.rule_id: step.outcome for step in explanation.steps}
    assert outcomes == {"contractors-no-files": "principal", "devs-write-data": "principal"}

    explanation = POLICY.explain(ALICE, write("/srv/data/../x"))
    assert {s.rule_id: s.outcome for s in explanation.steps}["devs-write-data"] == "condition false"


def test_visibility_hides_only_what_can_never_be_allowed() -> None:
    assert POLICY.visible(ALICE, Request("tool", "fs", "write_file")) is True  # allowed for some args
    assert POLICY.visible(BOB, Request("tool", "fs", "write_file")) is False
    assert POLICY.visible(CAROL, Request("tool", "fs", "read_file")) is False
    assert POLICY.visible(BOB, Request("tool", "mail", "send_email")) is True  # with approval


def test_conditions_see_the_principal_tool_server_and_trusted_annotations_only() -> None:
    policy = parse(
        """
defaults: {read_only: deny, other: deny}
rules:
  - id: everything
    effect: allow
    when: >-
      principal.subject == "alice" && "dev" in principal.groups && tool.name == "search"
      && server == "docs" && annotations.idempotentHint == true
"""
    )
    notes = {"idempotentHint": True}
    trusted = Request("tool", "docs", "search", {}, notes, annotations_trusted=True)
    untrusted = Request("tool", "docs", "search", {}, notes, annotations_trusted=False)
    assert policy.evaluate(ALICE, trusted).rule_id == "everything"
    assert policy.evaluate(ALICE, untrusted).rule_id is None
    assert policy.evaluate(BOB, trusted).rule_id is None


def test_identical_conditions_are_compiled_once() -> None:
    rules = "".join(
        f"  - {{id: r{i}, effect: allow, tools: [t{i}], when: 'args.n < 5'}}\n" for i in range(50)
    )
    policy = parse("rules:\n" + rules)
    assert policy.evaluate(ALICE, Request("tool", "s", "t7", {"n": 1})).rule_id == "r7"
    assert len({id(r.condition) for r in policy._rules}) == 1


def test_conditions_can_use_the_tokens_claims_for_attribute_rules() -> None:
    policy = parse(
        """
rules:
  - id: finance-ledger
    effect: allow
    servers: [ledger]
    when: has(principal.claims.department) && principal.claims.department == "finance"
"""
    )
    finance = Principal("fay", method="jwt", claims={"department": "finance", "exp": 1})
    sales = Principal("sal", method="jwt", claims={"department": "sales"})
    local = Principal("dana", method="local")
    request = Request("tool", "ledger", "post_entry", {"amount": 3})
    assert policy.evaluate(finance, request).rule_id == "finance-ledger"
    assert policy.evaluate(sales, request).rule_id is None
    assert policy.evaluate(local, request).rule_id is None
