from ostiary.detection.findings import Finding, Report, Severity, combine, score_findings


def finding(rule: str, weight: float) -> Finding:
    return Finding("injection", rule, Severity.of_weight(weight), "/text", 3, 9, weight)


def test_a_finding_serialises_rule_path_and_span_and_never_the_text() -> None:
    data = finding("injection.override", 0.9).to_dict()
    assert data == {
        "kind": "injection",
        "rule": "injection.override",
        "severity": "critical",
        "path": "/text",
        "span": [3, 9],
        "layer": "raw",
    }


def test_a_rule_that_fires_twice_counts_once_at_its_strongest() -> None:
    assert score_findings([finding("a", 0.4), finding("a", 0.3)]) == 0.4


def test_two_weak_signals_score_higher_than_either_alone() -> None:
    assert combine([0.3, 0.3]) > 0.5 > 0.3


def test_explanation_names_rules_and_score_without_payload() -> None:
    report = Report([finding("injection.override", 0.9)], 0.9, True)
    assert report.explain() == "score 0.90 from rules: injection.override"
    assert Report().explain() == "no findings"
