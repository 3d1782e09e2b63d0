"""Generate Ostiary's credential rule file from the gitleaks rule pack.

gitleaks (MIT, https://github.com/gitleaks/gitleaks) maintains ~220 rules for provider tokens,
each with its regex, keywords that must appear for the rule to be worth running, an entropy
floor and allowlists. Go's regexp is RE2, so most rules compile unchanged under google-re2;
each is compiled here, and a rule that does not compile or needs a file path (which a message
has not) is listed under `skipped` with the reason, never silently dropped.

    # from a gitleaks.toml (config/gitleaks.toml of the pinned release)
    .venv/bin/python scripts/gen_gitleaks_rules.py path/to/gitleaks.toml
    # update: check out the new release's config/gitleaks.toml, set VERSION and COMMIT, rerun
    .venv/bin/python scripts/gen_gitleaks_rules.py gitleaks.toml --version v8.30.1 --commit <sha>

The output, src/ostiary/detection/rules/gitleaks.json, carries the upstream version, commit and
MIT notice; `tests/detection/test_gitleaks_rules.py` checks it loads and every rule compiles.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import tomllib
from typing import Any

import re2

VERSION = "v8.30.0-27-gb58d3f10"
COMMIT = "b58d3f102cf3a2c84cb7f923d05c25c9b1aed84b"
OUT = pathlib.Path(__file__).resolve().parent.parent / "src/ostiary/detection/rules/gitleaks.json"

LICENSE = """MIT License

Copyright (c) 2019 Zachary Rice

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = 64 << 20
    return options


def _compiles(pattern: str) -> str | None:
    """None when RE2 (as Ostiary runs it) compiles the pattern, else the error."""
    try:
        re2.compile(pattern, _options())
    except re2.error as exc:
        return str(exc)
    return None


def _allowlist(raw: dict[str, Any]) -> dict[str, Any] | None:
    """An allowlist in Ostiary's terms; None when it tests only paths or commits."""
    regexes = [str(r) for r in raw.get("regexes", [])]
    stopwords = [str(w).lower() for w in raw.get("stopwords", [])]
    if raw.get("paths") or raw.get("commits"):
        if str(raw.get("condition", "OR")).upper() == "AND":
            return None  # holds only together with a path, which a message has not
        if not regexes and not stopwords:
            return None
    if not regexes and not stopwords:
        return None
    return {"target": str(raw.get("regexTarget", "secret")), "regexes": regexes, "stopwords": stopwords}


def translate(config: dict[str, Any]) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for raw in config["rules"]:
        rule_id = str(raw["id"])
        if "regex" not in raw:
            skipped.append({"id": rule_id, "reason": "matches file paths only"})
            continue
        if raw.get("path"):
            skipped.append({"id": rule_id, "reason": "needs a file path"})
            continue
        error = _compiles(raw["regex"])
        if error is not None:
            skipped.append({"id": rule_id, "reason": f"RE2: {error}"})
            continue
        allowlists = [a for a in map(_allowlist, raw.get("allowlists", [])) if a is not None]
        bad = [r for a in allowlists for r in a["regexes"] if _compiles(r) is not None]
        if bad:
            skipped.append({"id": rule_id, "reason": f"RE2 cannot compile an allowlist regex: {bad[0]}"})
            continue
        rules.append(
            {
                "id": rule_id,
                "description": str(raw.get("description", "")),
                "regex": raw["regex"],
                "keywords": sorted({str(k).lower() for k in raw.get("keywords", [])}),
                "entropy": float(raw.get("entropy", 0.0)),
                "secret_group": int(raw.get("secretGroup", 0)),
                "allowlists": allowlists,
            }
        )
    glob = config.get("allowlist", {})
    return {
        "source": "https://github.com/gitleaks/gitleaks config/gitleaks.toml",
        "version": VERSION,
        "commit": COMMIT,
        "license": LICENSE,
        "global_allowlist": {
            "regexes": [r for r in glob.get("regexes", []) if _compiles(r) is None],
            "stopwords": [str(w).lower() for w in glob.get("stopwords", [])],
        },
        "rules": rules,
        "skipped": skipped,
    }


def main() -> None:
    global VERSION, COMMIT
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("toml", type=pathlib.Path, help="gitleaks config/gitleaks.toml")
    parser.add_argument("--version", default=VERSION)
    parser.add_argument("--commit", default=COMMIT)
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    args = parser.parse_args()
    VERSION, COMMIT = args.version, args.commit
    generated = translate(tomllib.loads(args.toml.read_text()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(generated, indent=1, ensure_ascii=False) + "\n")
    total = len(generated["rules"]) + len(generated["skipped"])
    print(f"{len(generated['rules'])} of {total} rules translated; skipped:")
    for item in generated["skipped"]:
        print(f"  {item['id']}: {item['reason']}")


if __name__ == "__main__":
    main()
