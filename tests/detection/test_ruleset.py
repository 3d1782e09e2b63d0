from ostiary.detection.ruleset import Rule, RuleSet


def test_only_matching_rules_report_spans() -> None:
    rules = RuleSet([Rule("a", r"foo", 0.5), Rule("b", r"bar", 0.5)])
    assert [(h.rule.id, h.start, h.end) for h in rules.scan("xx foo foo")] == [("a", 3, 6), ("a", 7, 10)]


def test_a_validator_can_reject_a_match() -> None:
    rules = RuleSet([Rule("even", r"\d+", 1.0, validator=lambda v: int(v) % 2 == 0)])
    assert [h.start for h in rules.scan("3 4 5 6")] == [2, 6]


def test_a_named_group_is_the_reported_span_and_whole_match_can_be_validated() -> None:
    rule = Rule(
        "kv", r"(?P<key>\w+)=(?P<value>\w+)", 1.0, lambda m: m.startswith("pw"), group="value", whole=True
    )
    assert [(h.start, h.end) for h in RuleSet([rule]).scan("user=bob pw=hunter2")] == [(12, 19)]


def test_hits_per_rule_are_capped() -> None:
    assert len(list(RuleSet([Rule("x", "x", 1.0)], max_hits_per_rule=5).scan("x" * 100))) == 5


def test_empty_text_has_no_hits() -> None:
    assert list(RuleSet([Rule("x", "x", 1.0)]).scan("")) == []
