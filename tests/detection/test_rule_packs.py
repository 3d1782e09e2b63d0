"""The Nosey Parker, Kingfisher and Titus rule files: pinned, licensed, complete, and translated faithfully.

The examples test below runs each translated pattern over the examples its pack's authors wrote
for it (eval/sources/public/secret-rules-*.json, taken at the same commits). It checks the
translation to RE2 and the derived keywords, not how well the detector finds credentials: a rule
matching its own examples is what the pack's own tests already require of it.
"""

import importlib.util
import json
import pathlib
from types import ModuleType
from typing import Any

import pytest
import re2

from ostiary.detection.gitleaks import PACKS, GitleaksRules, _joined, pack, packs
from ostiary.detection.secrets import SecretsDetector, SecretsOptions

ROOT = pathlib.Path(__file__).resolve().parents[2]
ADDED = ("noseyparker", "kingfisher", "titus")
# Examples their own rule does not match upstream either: Kingfisher's pattern ignores the spaces
# of its literal in extended mode (plaintext.1), and wants 22 characters where its example has 29
# (travisci.1); Titus's airtable.2 wants upper case where its example is lower case.
UPSTREAM_MISMATCHES = {"kingfisher.plaintext.1", "kingfisher.travisci.1", "titus.kingfisher.airtable.2"}


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_rule_packs", ROOT / "scripts/gen_rule_packs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def examples(name: str) -> dict[str, list[str]]:
    doc = json.loads((ROOT / f"eval/sources/public/secret-rules-{name}.json").read_text())
    out: dict[str, list[str]] = {}
    for rule in doc["rules"]:
        texts = [e["text"] for e in rule["examples"] if e["list"] == "examples" and not e["fixme"]]
        out.setdefault(rule["rule"], []).extend(texts)
    return out


@pytest.mark.parametrize("name", ADDED)
def test_a_rule_file_names_its_upstream_commit_and_carries_the_apache_notice(name: str) -> None:
    data = pack(name)
    meta = generator().PACKS[name]
    assert data["commit"] == meta["commit"] and len(data["commit"]) == 40
    assert meta["repo"] in data["source"]
    assert (
        data["license"].startswith("Apache-2.0")
        and "http://www.apache.org/licenses/LICENSE-2.0" in data["license"]
    )
    if name in ("noseyparker", "titus"):
        assert "Praetorian Security, Inc" in data["license"]


@pytest.mark.parametrize(("name", "least"), [("noseyparker", 160), ("kingfisher", 680), ("titus", 230)])
def test_every_translated_rule_compiles_and_every_other_is_listed_with_a_reason(
    name: str, least: int
) -> None:
    data = pack(name)
    assert len(data["rules"]) >= least
    assert all(item["reason"] for item in data["skipped"])
    ids = [r["id"] for r in data["rules"]]
    assert len(ids) == len(set(ids))
    assert set(ids).isdisjoint(s["id"] for s in data["skipped"])
    for rule in data["rules"]:
        re2.compile(rule["regex"])  # raises on a pattern RE2 cannot take
        assert rule["keywords"] and all(len(k) >= 3 and k == k.lower() for k in rule["keywords"])


@pytest.mark.parametrize("name", ADDED)
def test_each_rule_matches_its_own_examples_and_they_hold_its_keyword(name: str) -> None:
    texts = examples(name)
    unmatched = []
    for rule in pack(name)["rules"]:
        regex = re2.compile(rule["regex"])
        upstream = rule["id"].removeprefix("titus.")
        own = texts.get(upstream.rsplit("-", 1)[0] if upstream[-2:-1] == "-" else upstream, [])
        matched = [t for t in own if regex.search(t)]
        if not matched:
            unmatched.append(rule["id"])
        # The keyword screen never hides what the pattern finds in the authors' examples.
        assert all(any(k in t.lower() for k in rule["keywords"]) for t in matched), rule["id"]
    assert set(unmatched) <= UPSTREAM_MISMATCHES


def test_rules_finding_no_secret_are_left_out_with_the_packs_own_marks() -> None:
    skipped = {s["id"]: s["reason"] for s in pack("kingfisher")["skipped"]}
    assert "visible: false" in skipped["kingfisher.aws.1"]  # an access key id, for validation
    assert any("confidence: low" in r for r in skipped.values())
    assert "identifier" in {s["id"]: s["reason"] for s in pack("noseyparker")["skipped"]}["np.aws.1"]


def test_extended_mode_and_inline_comments_are_written_out() -> None:
    gen = generator()
    rust = "(?x)(?i)\n\\b (ghp_ [a-z0-9]{36})  (?# a token )\n  # a comment\n [\\ \\t]* \\b"
    assert gen.translate_pattern(rust) == "(?i)\\b(ghp_[a-z0-9]{36})[\\x20\\t]*\\b"
    assert gen.translate_pattern("(?<name>ya29\\.[a-z]{20,1024})") == "(?P<name>ya29\\.[a-z]{20,1000})"


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("\\b((?:AKIA|ASIA)[A-Z0-9]{16})\\b", ["akia", "asia"]),
        ("\\b((?:ghu|ghs)_[a-zA-Z0-9]{36})\\b", ["ghs_", "ghu_"]),
        ("(?i)\\b(EZ[AT]K[a-z0-9]{54})", ["ezak", "eztk"]),
        # A frequent word gives way to a rarer literal the pattern also requires.
        ("(?i)\\bfullstory.{0,8}(?:KEY|TOKEN).{0,16}([a-z0-9]{88})", ["fullstory"]),
        ("[a-z]{32}", []),  # no literal: no keyword, and the rule is skipped
    ],
)
def test_keywords_are_the_literals_every_match_holds(pattern: str, words: list[str]) -> None:
    assert generator().keywords(pattern) == words


def test_the_generator_is_deterministic_over_the_same_rules() -> None:
    gen = generator()
    raw: list[dict[str, Any]] = [
        {"id": "x.1", "name": "Token", "pattern": "(?x) \\b (tok_ [a-z]{20})", "min_entropy": 3},
        {"id": "x.1", "name": "Token", "pattern": "\\bsec_[a-z]{20}"},
        {"id": "x.2", "name": "Service Host", "pattern": "host_[a-z]+"},
        {"id": "x.3", "name": "Key", "pattern": "(?<=a)b"},
    ]
    first = gen.translate("kingfisher", raw, "0" * 40)
    assert first == gen.translate("kingfisher", raw, "0" * 40)
    assert [r["id"] for r in first["rules"]] == ["x.1", "x.1-2"]
    assert first["rules"][0]["entropy"] == 3.0
    assert {s["id"] for s in first["skipped"]} == {"x.2", "x.3"}
    assert next(s for s in first["skipped"] if s["id"] == "x.3")["reason"].startswith("RE2")


def test_a_pack_can_be_left_out() -> None:
    everything = GitleaksRules(packs())
    assert {r.id.split(".")[1] for r in everything.rules} >= {"np", "kingfisher"}
    without = SecretsDetector(SecretsOptions(packs=tuple(p for p in PACKS if p != "noseyparker")))
    assert without.pack is not None
    assert not any(r.id.startswith("secret.np.") for r in without.pack.rules)
    assert any(r.id.startswith("secret.kingfisher.") for r in without.pack.rules)


def test_a_credential_in_parts_is_reported_from_its_first_part_to_its_last() -> None:
    # The pack's rule alone: Ostiary's own password rule reports the same span first.
    detector = SecretsDetector(SecretsOptions(disabled=frozenset({"secret.password_assignment"})))
    text = 'var creds = new NetworkCredential("svc-backup", "Qm7#vT2p!xR9");'
    found = [(f.rule, text[f.start : f.end]) for f in detector.scan(text).findings]
    assert found == [("secret.np.generic.7", 'svc-backup", "Qm7#vT2p!xR9')]


def test_documentation_passwords_in_a_packs_match_are_no_secret() -> None:
    detector = SecretsDetector()
    assert detector.scan("postgresql://postgres:postgres@localhost:5432/postgres").findings == []
    assert detector.scan('String password = "password";').findings == []


@pytest.mark.parametrize("left_out", [None, *PACKS])
def test_every_screen_of_rules_keyed_on_frequent_words_compiles(left_out: str | None) -> None:
    rules = GitleaksRules(packs(tuple(p for p in PACKS if p != left_out)))
    assert all(screen.compiled is not None for screen in rules._screens)
    # Two rules naming a group alike still join into one screen.
    assert re2.compile(_joined(["(?P<key>a+)", "(?P<key>b+)"])).search("b")


def test_titus_ships_only_what_the_packs_before_it_do_not() -> None:
    """Titus, Nosey Parker's successor, carries many of Nosey Parker's and Kingfisher's rules
    unchanged; those are left out (the earlier pack runs them), the rest keep Titus's id."""
    gen = generator()
    data = pack("titus")
    earlier = {
        gen.same_pattern(r["regex"]) for name in ("noseyparker", "kingfisher") for r in pack(name)["rules"]
    }
    assert all(r["id"].startswith(("titus.np.", "titus.kingfisher.")) for r in data["rules"])
    assert not any(gen.same_pattern(r["regex"]) in earlier for r in data["rules"])
    assert any("ships the same pattern" in s["reason"] for s in data["skipped"])
    assert gen.same_pattern(r"\b(?P<token>xoxb-[0-9]{10})\b") == r"\b(xoxb-[0-9]{10})\b"
