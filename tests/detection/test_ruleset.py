import re2

from ostiary.detection import pii, secrets
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


def test_a_prefilter_screens_the_text_and_the_pattern_gives_the_spans() -> None:
    rules = RuleSet([Rule("kv", r"\w{1,30}=\d{4}", 1.0, prefilter=r"=\d")])
    assert [(h.start, h.end) for h in rules.scan("a b x_key=12345")] == [(4, 14)]
    assert list(rules.scan("key=x")) == []


SAMPLES = [
    "mail jane.doe+tag@mail.example.co.uk or J_D@sub-domain.org today",
    'config: API_KEY = "q8Zr2LmX0pW4vN7tY1sK" and client-secret: Zm9vYmFyYmF6cXV4MTIzNDU2',
    "db_password => 'hunter2-but-longer' ; PWD=s3cr3t-Value",
    "x.y_access_token:\t'AbCdEfGhIjKlMnOpQrStUv'",
]


def test_every_prefilter_matches_wherever_its_rule_matches() -> None:
    screened = [r for r in [*secrets.rules(), *pii.rules()] if r.prefilter]
    assert screened
    for rule in screened:
        pattern, prefilter = re2.compile(rule.pattern), re2.compile(rule.prefilter)
        for text in SAMPLES:
            for match in pattern.finditer(text):
                assert prefilter.search(match.group(0)) is not None, (rule.id, match.group(0))
