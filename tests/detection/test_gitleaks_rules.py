"""The generated gitleaks rule pack: pinned, licensed, complete, and run as gitleaks runs it."""

import pytest

from ostiary.detection.gitleaks import GitleaksRules, pack
from ostiary.detection.secrets import SecretsDetector, SecretsOptions


@pytest.fixture(scope="module")
def rules() -> GitleaksRules:
    return GitleaksRules(pack())


def found(rules: GitleaksRules, text: str) -> list[tuple[str, str]]:
    return [(hit.rule, text[hit.start : hit.end]) for hit in rules.find(text)]


def test_the_rule_file_names_its_upstream_version_and_carries_the_mit_notice() -> None:
    data = pack()
    assert data["version"].startswith("v8.")
    assert len(data["commit"]) == 40
    assert data["license"].startswith("MIT License") and "Zachary Rice" in data["license"]


def test_every_translated_rule_compiles_and_every_other_is_listed_with_a_reason(rules: GitleaksRules) -> None:
    data = pack()
    assert len(rules.rules) == len(data["rules"]) >= 200
    assert all(item["reason"] for item in data["skipped"])
    assert {r.id for r in rules.rules}.isdisjoint({f"secret.{s['id']}" for s in data["skipped"]})
    patterns = [r.regex for r in rules.rules] + [
        x for r in rules.rules for a in r.allowlists for x in a.regexes
    ]
    patterns += rules.global_allowlist.regexes
    assert all(p.compiled is not None for p in patterns)  # re2 raises on a pattern it cannot take


def test_a_rule_is_compiled_only_when_its_keyword_occurs() -> None:
    fresh = GitleaksRules(pack())
    assert not any(r.regex._compiled for r in fresh.rules)
    text = 'adafruit_key = "a8fk29dlqp0zx7vb3nm1a8fk29dlqp0z"'
    assert list(fresh.find(text))
    compiled = {r.id for r in fresh.rules if r.regex._compiled}
    assert compiled == {fresh.rules[i].id for i in fresh.candidates(text.encode())}
    assert "secret.adafruit-api-key" in compiled and len(compiled) < len(fresh.rules) // 4


def test_text_naming_no_keyword_runs_no_rule(rules: GitleaksRules) -> None:
    assert rules.candidates(b"The migration to the new queue is done; forward the contract to legal.") == []


def test_the_secret_group_is_the_reported_span(rules: GitleaksRules) -> None:
    text = 'adafruit_key = "a8fk29dlqp0zx7vb3nm1a8fk29dlqp0z"'
    assert ("secret.adafruit-api-key", "a8fk29dlqp0zx7vb3nm1a8fk29dlqp0z") in found(rules, text)


def test_the_entropy_floor_and_the_allowlists_hold(rules: GitleaksRules) -> None:
    assert found(rules, "aws_access_key_id = AKIAIOSFODNN7EXAMPLE") == []  # the rule's allowlist
    assert found(rules, 'api_key = "aaaaaaaaaaaaaaaaaaaa"') == []  # entropy
    assert found(rules, 'bucket_key = "a8Fk29dLqP0zX7vB3nM1"') == []  # the generic rule's allowlist


def test_a_rejected_match_does_not_hide_the_real_one_after_it(rules: GitleaksRules) -> None:
    text = '{"service": "aws_secret_key",\n "credential": "SNlqK1TaugIaiJLttv4pAlN+8Fx277vxuuPgzgpF"}'
    assert found(rules, text) == [("secret.generic-api-key", "SNlqK1TaugIaiJLttv4pAlN+8Fx277vxuuPgzgpF")]


def test_a_provider_token_in_prose_ends_at_punctuation(rules: GitleaksRules) -> None:
    text = "the new one is AIzaXReAkbHlvDnf9DJcIa2UybROfdS16_c63GX. Thanks!"
    assert found(rules, text) == [("secret.gcp-api-key", "AIzaXReAkbHlvDnf9DJcIa2UybROfdS16_c63GX")]


def test_spans_are_in_characters_after_non_ascii_text(rules: GitleaksRules) -> None:
    text = "Schlüssel für München: ghp_Zx9qT4mLp2Rw8YbN3vKcA1sD5fG7hJ0kL2qW"
    assert found(rules, text) == [("secret.github-pat", "ghp_Zx9qT4mLp2Rw8YbN3vKcA1sD5fG7hJ0kL2qW")]


@pytest.mark.parametrize(
    "text",
    [
        "Release GPG key: 9554F04D7259F04124DE6B476D5A82AC7E37093B",
        "integrity_token: 5e884898da28047151d0e56f8dc6292773603d0d",
        'session_token = "550e8400-e29b-41d4-a716-446655440000"',
    ],
)
def test_fingerprints_digests_and_uuids_beside_a_key_name_are_not_secrets(text: str) -> None:
    assert SecretsDetector().scan(text).findings == []


def test_disabled_rules_are_not_run() -> None:
    detector = SecretsDetector(SecretsOptions(packs=("gitleaks",)))
    text = "ghp_Zx9qT4mLp2Rw8YbN3vKcA1sD5fG7hJ0kL2qW"
    assert [f.rule for f in detector.scan(text).findings] == ["secret.github-pat"]

    # The shape rule for prefixed tokens finds it too, and is disabled with it.
    disabled = frozenset({"secret.github-pat", "secret.prefixed_token"})
    quiet = SecretsDetector(SecretsOptions(packs=("gitleaks",), disabled=disabled))
    assert quiet.scan(text).findings == []
