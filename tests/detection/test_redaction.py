import json

from ostiary.detection.findings import Finding, Severity
from ostiary.detection.redaction import redact_json, redact_text
from ostiary.detection.secrets import SecretsDetector


def finding(path: str, start: int, end: int, rule: str = "secret.x") -> Finding:
    return Finding("secret", rule, Severity.HIGH, path, start, end)


def test_text_spans_are_replaced_by_a_marker_naming_the_rule() -> None:
    assert redact_text("key=ABCDEF rest", [finding("", 4, 10)]) == "key=[REDACTED:secret.x] rest"


def test_overlapping_spans_are_redacted_once() -> None:
    assert redact_text("0123456789", [finding("", 2, 6, "a"), finding("", 4, 8, "b")]) == "01[REDACTED:a]89"


def test_json_is_redacted_in_place_and_untouched_parts_are_shared() -> None:
    untouched = {"n": 1}
    value = {"a": ["x", "secret here"], "b": untouched}
    out = redact_json(value, [finding("/a/1", 0, 6)])
    assert out == {"a": ["x", "[REDACTED:secret.x] here"], "b": {"n": 1}}
    assert out["b"] is untouched
    assert value["a"][1] == "secret here"


def test_redacting_serialised_json_inside_text_keeps_it_valid_json() -> None:
    text = json.dumps({"aws": "AKIAZ3XQ7PLMWERT5YHU", "db": 'postgresql://u:p"w\\d9Zx8Qv@h/db'})
    report = SecretsDetector().scan(text, "/t")
    redacted = redact_json({"t": text}, report.findings)["t"]
    parsed = json.loads(redacted)
    assert parsed["aws"] == "[REDACTED:secret.aws-access-token]"
