"""Generate Ostiary's rule files from the Nosey Parker and Kingfisher rule packs.

Two maintained secret-scanner rule packs beside gitleaks (`gen_gitleaks_rules.py`), both
Apache-2.0, both written for Rust's regex crate (Kingfisher also for Hyperscan):

- `noseyparker`: praetorian-inc/noseyparker, crates/noseyparker/data/default/builtin/rules/*.yml
- `kingfisher`: mongodb/kingfisher, data/rules/*.yml (it adopted many of Nosey Parker's rules,
  so the two packs are not independent of each other)
- `titus`: praetorian-inc/titus, pkg/rule/rules/*.yml, the successor of Nosey Parker: Nosey
  Parker's rules (`np.*`) and rules derived from Kingfisher's (`kingfisher.*`), many rewritten
  or new since the commits pinned above. A rule whose pattern (named groups aside) one of those
  two packs already ships is left out (`skipped`, with that reason); the others keep their id
  under `titus.` (`titus.np.openai.1`, `titus.kingfisher.xai.1`).

Each rule is read from a git clone at the pinned commit (`git show`, so every run gives the same
file) and translated to what `ostiary.detection.gitleaks.GitleaksRules` runs:

- the pattern: extended mode (`(?x)`: whitespace and `#` comments, which Rust ignores also
  inside a character class) and `(?# ...)` comments written out, `(?<name>` as `(?P<name>`, a
  repeat bound over RE2's 1000 cut to 1000; a pattern RE2 still cannot compile is listed under
  `skipped` with RE2's reason;
- keywords, which neither pack has: the literal strings one of which every match must contain
  (read from the pattern's syntax tree, lower-cased, at least 3 characters; where the pattern
  requires both a word most text holds and a rarer literal, the rarer). A rule runs only when
  one of its keywords is in the text, as in gitleaks. A pattern with no such literal (a bare
  alphabet and length) would run on every text: it is skipped, with that reason;
- Kingfisher's `min_entropy` as the rule's entropy floor. A pattern with several groups (a user
  name and its password) gets `secret_group: -1`: reported from its first group to its last,
  the floor applying to the last;
- rules that find what is no secret are skipped, with the reason: a Kingfisher rule it does not
  report on its own (`visible: false`, an identifier other rules' validation uses) or of
  `confidence: low`; a Nosey Parker rule whose categories say `identifier` and not `secret`; a
  rule whose name says it finds an ID, a host, a URL, a user name, an e-mail address, a bucket
  or a public value;
- a pack's id given to a second rule is kept for it as `<id>-2`.

    .venv/bin/python scripts/gen_rule_packs.py --noseyparker <git dir> --kingfisher <git dir> \
        --titus <git dir>
    # update: fetch the new upstream commits, set COMMIT in PACKS below (or pass --commit-<pack>)
    .venv/bin/python scripts/gen_rule_packs.py --noseyparker <dir> --commit-noseyparker <sha> ...

The output, src/ostiary/detection/rules/{noseyparker,kingfisher,titus}.json, carries the upstream
repository, commit, licence and NOTICE; `tests/detection/test_rule_packs.py` checks they load,
every rule compiles, and every rule matches the examples its pack's authors wrote for it.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import re._parser as sre_parse  # type: ignore[import-not-found]
import subprocess
from typing import Any

import re2
import yaml

from ostiary.detection.gitleaks import FREQUENT_WORDS

RULES = pathlib.Path(__file__).resolve().parent.parent / "src/ostiary/detection/rules"

APACHE = """Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
"""

PACKS: dict[str, dict[str, str]] = {
    "noseyparker": {
        "repo": "praetorian-inc/noseyparker",
        "commit": "2e6e7f36ce36619852532bbe698d8cb7a26d2da7",
        "dir": "crates/noseyparker/data/default/builtin/rules",
        "notice": (
            "Copyright 2022 Praetorian Security, Inc <https://praetorian.com>.\n\n"
            "This product includes software from the Nosey Parker project developed\n"
            "by Praetorian Security, Inc:\n\n"
            "    https://github.com/praetorian-inc/noseyparker\n\n"
        ),
    },
    "kingfisher": {
        "repo": "mongodb/kingfisher",
        "commit": "ee7c0db3ef87575768f817820c24736249ffcdef",
        "dir": "data/rules",
        "notice": (
            "This product includes the detection rules of Kingfisher, by MongoDB, Inc.:\n\n"
            "    https://github.com/mongodb/kingfisher\n\n"
        ),
    },
    "titus": {
        "repo": "praetorian-inc/titus",
        "commit": "369d8dc4359a2d70629e0fe7732d3244a3315efc",  # v1.1.23
        "dir": "pkg/rule/rules",
        "notice": (
            "Titus\n"
            "Copyright 2026 Praetorian Security, Inc.\n\n"
            "This product includes software developed at Praetorian Security, Inc.\n"
            "(https://www.praetorian.com/).\n\n"
            "Detection rules in pkg/rule/rules/ are derived from NoseyParker\n"
            "(https://github.com/praetorian-inc/noseyparker), Copyright 2023-2026 Praetorian\n"
            'Security, Inc., and, those prefixed with "kingfisher.", from Kingfisher\n'
            "(https://github.com/mongodb/kingfisher), Copyright MongoDB, Inc., both licensed\n"
            "under the Apache License, Version 2.0.\n\n"
            "    https://github.com/praetorian-inc/titus\n\n"
        ),
    },
}
# Packs whose rules a later pack may carry again: a rule of `titus` with the same pattern as one
# of these is left out, since that pack already runs it.
EARLIER = {"titus": ("noseyparker", "kingfisher")}
# The prefix a pack's rule ids get (Titus reuses Nosey Parker's and Kingfisher's ids).
ID_PREFIX = {"titus": "titus."}

# A rule whose name says it finds a value that is no secret.
PUBLIC_VALUE = re.compile(
    r"\b(?:ID|Identifier|Domain|Username|Host|Hostname|URL|Name|Email|Bucket|Resource Name"
    r"|Recipient|Public)\b"
)
MIN_KEYWORD = 3


def git(gitdir: str, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", gitdir, *args], capture_output=True, text=True, check=True
    ).stdout


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = 64 << 20
    return options


_FLAGS = re.compile(r"\(\?([a-zA-Z]+)\)")
_COMMENT = re.compile(r"\(\?#[^)]*\)")
_REPEAT = re.compile(r"(?<!\\)\{(\d+),(\d+)\}")


def unverbose(pattern: str) -> str:
    """The pattern without extended mode: Rust's `x` flag ignores whitespace and `#` comments
    everywhere, character classes included, unless escaped."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == " ":
                out.append("\\x20")
            elif nxt == "#":
                out.append("\\#")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "#":
            stop = pattern.find("\n", i)
            i = len(pattern) if stop < 0 else stop + 1
            continue
        if char in " \t\r\n\f\v":
            i += 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def translate_pattern(pattern: str) -> str:
    """The Rust pattern as RE2 takes it (the caller checks that RE2 compiles it)."""
    text = pattern.strip()
    verbose = False

    def flags(match: re.Match[str]) -> str:
        nonlocal verbose
        letters = match.group(1)
        if "x" in letters:
            verbose = True
            letters = letters.replace("x", "")
        return f"(?{letters})" if letters else ""

    # Extended mode is set by a leading flag group in both packs, alone or with others.
    head = re.match(r"(?:\s*\(\?[a-zA-Z]+\))+", text)
    if head:
        text = _FLAGS.sub(flags, head.group(0)).strip() + text[head.end() :]
    text = _COMMENT.sub("", text)
    if verbose:
        text = unverbose(text)
    # RE2 repeats at most 1000 times; a longer bound is cut there (the longest tokens are
    # shorter than a thousand characters).
    text = _REPEAT.sub(lambda m: f"{{{m.group(1)},1000}}" if int(m.group(2)) > 1000 else m.group(0), text)
    return re.sub(r"\(\?<(?![=!])", "(?P<", text)


# ---- keywords: literals every match contains ------------------------------------------------

_MAX_ALTERNATIVES = 24
_MAX_EXACT = 64
_MAX_CLASS = 6


def _exact(op: Any, av: Any) -> set[str] | None:
    """Every string the node can match, when they are few; None otherwise."""
    name = str(op)
    if name == "LITERAL":
        return {chr(av).lower()}
    if name == "AT":  # anchors and word boundaries take no character
        return {""}
    if name == "IN":
        chars = set()
        for item_op, value in av:
            if str(item_op) != "LITERAL":
                return None
            chars.add(chr(value).lower())
        return chars if len(chars) <= _MAX_CLASS else None
    if name == "SUBPATTERN":
        return _seq_exact(av[-1])
    if name == "BRANCH":
        union: set[str] = set()
        for branch in av[1]:
            got = _seq_exact(branch)
            if got is None:
                return None
            union |= got
        return union if len(union) <= _MAX_EXACT else None
    if name in ("MAX_REPEAT", "MIN_REPEAT") and av[1] <= 1:
        body = _seq_exact(av[2])
        if body is None:
            return None
        return body | {""} if av[0] == 0 else body
    return None


def _seq_exact(items: Any) -> set[str] | None:
    current = {""}
    for op, av in items:
        got = _exact(op, av)
        if got is None:
            return None
        current = {a + b for a in current for b in got}
        if len(current) > _MAX_EXACT:
            return None
    return current


def _required(items: Any, before: frozenset[str] = frozenset({""})) -> list[str] | None:
    """Literal strings one of which every match of the sequence `items` contains, or None;
    `before`, the literals just before the sequence, joined onto its leading literals."""
    candidates: list[set[str]] = []
    current: set[str] = set(before)
    for op, av in items:
        got = _exact(op, av)
        if got is not None:
            joined = {a + b for a in current for b in got}
            if len(joined) <= _MAX_EXACT:
                current = joined
                continue
            candidates.append(current)
            current = got
            continue
        inner = _inner(op, av, frozenset(current))
        candidates.append(current)
        if inner is not None:
            candidates.append(set(inner))
        current = {""}
    candidates.append(current)
    best: list[str] | None = None
    for candidate in candidates:
        words = _minimal(candidate)
        if "" in words or len(words) > _MAX_ALTERNATIVES:
            continue
        if best is None or _score(words) > _score(best):
            best = words
    return best


def _minimal(words: set[str]) -> list[str]:
    """Without the words that hold another of the set (a text holding them holds it)."""
    return sorted(w for w in words if not any(o != w and o in w for o in words))


def _inner(op: Any, av: Any, before: frozenset[str]) -> list[str] | None:
    """What a group, repeat or alternation requires; `before`, the literals just before it
    (Python's parser moves a prefix that every branch shares out of the alternation:
    `AKIA|ASIA` is read as `A(?:KIA|SIA)`)."""
    name = str(op)
    if name == "SUBPATTERN":
        return _required(av[-1], before)
    if name in ("MAX_REPEAT", "MIN_REPEAT") and av[0] >= 1:
        return _required(av[2], before)
    if name == "BRANCH":
        union: set[str] = set()
        for branch in av[1]:
            got = _required(branch, before)
            if got is None:
                return None
            union.update(got)
        return _minimal(union)
    return None


# Where a pattern requires both a word most configuration and code hold and a rarer literal
# (`bootstrap` ... `token`), the rarer is its keyword: a rule keyed on a frequent word runs on
# most text.
def _score(words: list[str]) -> tuple[bool, bool, int, int]:
    shortest = min(len(w) for w in words)
    rare = not any(w.strip("_-.:=\"' ") in FREQUENT_WORDS for w in words)
    return (shortest >= MIN_KEYWORD, rare, min(shortest, 8), -len(words))


# Syntax Python's parser reads differently, rewritten for reading literals only: flags anywhere
# (they do not change a literal, case being ignored), POSIX and Unicode classes, `\z`.
_FOR_PYTHON = [
    (re.compile(r"\(\?[a-zA-Z-]+\)"), ""),
    (re.compile(r"\(\?[a-zA-Z-]+:"), "(?:"),
    (re.compile(r"\[:\^?[a-z]+:\]"), "0-9"),
    (re.compile(r"\\[pP](?:\{[^}]*\}|[A-Za-z])"), r"\\w"),
    (re.compile(r"\\z"), r"\\Z"),
]


def _for_python(pattern: str) -> str:
    for syntax, replacement in _FOR_PYTHON:
        pattern = syntax.sub(replacement, pattern)
    return pattern


def keywords(pattern: str) -> list[str]:
    """Lower-cased literals one of which every match contains; [] when there are none of at
    least MIN_KEYWORD characters. Literals in sequence are joined (`gh` `[pousr]` `_` gives
    `ghp_`, `gho_`, ...) and alternations give one keyword per branch."""
    try:
        tree = sre_parse.parse(_for_python(pattern))
    except re.error:
        return []
    found = _required(list(tree))
    if not found or min(len(w) for w in found) < MIN_KEYWORD:
        return []
    return sorted(set(found))


# ---- rules ----------------------------------------------------------------------------------


def _not_a_secret(pack: str, rule: dict[str, Any]) -> str | None:
    if pack != "noseyparker" and rule.get("visible", True) is False:
        return "not reported on its own (visible: false): an identifier for other rules' validation"
    if pack != "noseyparker" and str(rule.get("confidence", "")).lower() == "low":
        return "confidence: low"
    categories = rule.get("categories") or []
    if pack != "kingfisher" and "identifier" in categories and "secret" not in categories:
        return "categories say identifier, not secret"
    if PUBLIC_VALUE.search(str(rule.get("name", ""))):
        return "its name says it finds no secret (an id, host, URL, user name, e-mail, public value)"
    return None


_NAMED_GROUP = re.compile(r"\(\?P?<(?![=!])\w+>")


def same_pattern(pattern: str) -> str:
    """A translated pattern with its groups unnamed: Titus names the groups of patterns it
    took unchanged from Nosey Parker and Kingfisher (`(?P<token>`)."""
    return _NAMED_GROUP.sub("(", pattern)


_NO_KEYWORD = "no literal of 3+ characters that every match holds (no keyword)"


def translate(
    pack: str, raw_rules: list[dict[str, Any]], commit: str, shipped: dict[str, str] | None = None
) -> dict[str, Any]:
    """`shipped`: the unnamed patterns of earlier packs (`EARLIER`) and the pack of each."""
    meta = PACKS[pack]
    rules: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    seen: set[str] = set()
    prefix = ID_PREFIX.get(pack, "")
    for raw in raw_rules:
        rule_id = prefix + str(raw["id"])
        if rule_id in seen:  # a pack's id given to a second rule: numbered on from the first
            rule_id = next(f"{rule_id}-{n}" for n in range(2, 100) if f"{rule_id}-{n}" not in seen)
        seen.add(rule_id)
        reason = _not_a_secret(pack, raw)
        if reason is not None:
            skipped.append({"id": rule_id, "reason": reason})
            continue
        pattern = translate_pattern(str(raw["pattern"]))
        try:
            groups = re2.compile(pattern, _options()).groups
        except re2.error as exc:
            skipped.append({"id": rule_id, "reason": f"RE2: {exc}"})
            continue
        earlier = (shipped or {}).get(same_pattern(pattern))
        if earlier is not None:
            skipped.append({"id": rule_id, "reason": f"the {earlier} pack ships the same pattern"})
            continue
        words = keywords(pattern)
        if not words:
            skipped.append(
                {"id": rule_id, "reason": "no literal of 3+ characters that every match holds (no keyword)"}
            )
            continue
        rules.append(
            {
                "id": rule_id,
                "description": str(raw.get("name", "")),
                "regex": pattern,
                "keywords": words,
                "entropy": float(raw.get("min_entropy", 0.0) or 0.0),
                # Several groups (a user name and its password, an account and its key): -1
                # reports from the first group that took part to the last.
                "secret_group": -1 if groups > 1 else 0,
                "allowlists": [],
            }
        )
    return {
        "source": f"https://github.com/{meta['repo']} {meta['dir']}/*.yml",
        "version": commit[:12],
        "commit": commit,
        "license": "Apache-2.0\n\n" + meta["notice"] + APACHE,
        "global_allowlist": {"regexes": [], "stopwords": []},
        "rules": rules,
        "skipped": skipped,
    }


def read_pack(pack: str, gitdir: str, commit: str) -> list[dict[str, Any]]:
    directory = PACKS[pack]["dir"]
    names = git(gitdir, "ls-tree", "--name-only", f"{commit}:{directory}").split()
    out: list[dict[str, Any]] = []
    for name in sorted(n for n in names if n.endswith((".yml", ".yaml"))):
        data = yaml.safe_load(git(gitdir, "show", f"{commit}:{directory}/{name}")) or {}
        out.extend(data.get("rules") or [])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for pack in PACKS:
        parser.add_argument(f"--{pack}", metavar="GIT_DIR", help=f"a git clone of {PACKS[pack]['repo']}")
        parser.add_argument(f"--commit-{pack}", default=PACKS[pack]["commit"])
    parser.add_argument("--out", type=pathlib.Path, default=RULES)
    args = parser.parse_args()
    for pack in PACKS:
        gitdir = getattr(args, pack)
        if not gitdir:
            continue
        commit = getattr(args, f"commit_{pack}")
        shipped = {
            same_pattern(rule["regex"]): earlier
            for earlier in EARLIER.get(pack, ())
            for rule in json.loads((args.out / f"{earlier}.json").read_text())["rules"]
        }
        generated = translate(pack, read_pack(pack, gitdir, commit), commit, shipped)
        path = args.out / f"{pack}.json"
        path.write_text(json.dumps(generated, indent=1, ensure_ascii=False) + "\n")
        total = len(generated["rules"]) + len(generated["skipped"])
        print(f"{pack}: {len(generated['rules'])} of {total} rules translated -> {path}; skipped:")
        for item in generated["skipped"]:
            print(f"  {item['id']}: {item['reason']}")


if __name__ == "__main__":
    main()
