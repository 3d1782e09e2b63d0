"""Extract the examples of two secret scanners' rule packs into eval/sources/public/.

Each rule of these packs carries `examples` (text its pattern must match) and, for some rules,
`negative_examples` (text it must not match), written by the packs' authors and checked by
their test suites. What is taken, per rule: its id, name, categories, whether the scanner reports
it on its own (`visible`), its pattern, and every example with the list it is in and whether a
`FIXME` comment of the authors precedes it in that list (they mark with one an example their
pattern gets wrong). Nothing else is read: no test fixture, no code.

- `noseyparker`: praetorian-inc/noseyparker (Apache-2.0), crates/noseyparker/data/default/
  builtin/rules/*.yml.
- `kingfisher`: mongodb/kingfisher (Apache-2.0), data/rules/*.yml.
- `titus`: praetorian-inc/titus (Apache-2.0), pkg/rule/rules/*.yml, Nosey Parker's successor
  (its rules derive from Nosey Parker's and Kingfisher's; many are rewritten or new).

Both repositories are read from a local git clone at the pinned commit (`git show`), so the
output is the same on every run:

    .venv/bin/python eval/secrets/import_rules.py --noseyparker <git dir> --kingfisher <git dir> \
        --titus <git dir>
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
from typing import Any

import yaml

OUT = pathlib.Path(__file__).resolve().parent.parent / "sources" / "public"

PACKS = {
    "noseyparker": {
        "repo": "praetorian-inc/noseyparker",
        "commit": "2e6e7f36ce36619852532bbe698d8cb7a26d2da7",
        "licence": "Apache-2.0",
        "dir": "crates/noseyparker/data/default/builtin/rules",
    },
    "kingfisher": {
        "repo": "mongodb/kingfisher",
        "commit": "ee7c0db3ef87575768f817820c24736249ffcdef",
        "licence": "Apache-2.0",
        "dir": "data/rules",
    },
    "titus": {
        "repo": "praetorian-inc/titus",
        "commit": "369d8dc4359a2d70629e0fe7732d3244a3315efc",  # v1.1.23
        "licence": "Apache-2.0",
        "dir": "pkg/rule/rules",
    },
}
LISTS = ("examples", "negative_examples", "non_examples")


def git(gitdir: str, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", gitdir, *args], capture_output=True, text=True, check=True
    ).stdout


def rules_of(raw: str) -> list[dict[str, Any]]:
    """The rules of one YAML file, each example with its list and its FIXME mark."""
    lines = raw.splitlines()
    fixme = [n for n, line in enumerate(lines) if line.lstrip().startswith("#") and "FIXME" in line]
    root = yaml.compose(raw)
    data = yaml.safe_load(raw) or {}
    out: list[dict[str, Any]] = []
    rule_nodes = next(v for k, v in root.value if k.value == "rules").value if root else []
    for rule, node in zip(data.get("rules") or [], rule_nodes, strict=True):
        examples: list[dict[str, Any]] = []
        for key, value in node.value:
            if key.value not in LISTS or not isinstance(value, yaml.SequenceNode):
                continue
            start = key.start_mark.line - 2
            for entry, text in zip(value.value, rule[key.value], strict=True):
                marked = any(start <= n < entry.start_mark.line for n in fixme)
                examples.append({"list": key.value, "fixme": marked, "text": text})
        out.append(
            {
                "rule": rule["id"],
                "name": rule["name"],
                "categories": rule.get("categories") or [],
                "visible": rule.get("visible", True),
                "confidence": rule.get("confidence", ""),
                "pattern": rule["pattern"],
                "examples": examples,
            }
        )
    return out


def extract(source: str, gitdir: str) -> None:
    pack = PACKS[source]
    names = git(gitdir, "ls-tree", "--name-only", f"{pack['commit']}:{pack['dir']}").split()
    files = sorted(n for n in names if n.endswith((".yml", ".yaml")))
    rules: list[dict[str, Any]] = []
    for name in files:
        rules.extend(rules_of(git(gitdir, "show", f"{pack['commit']}:{pack['dir']}/{name}")))
    doc = {
        "source": source,
        "package": f"github:{pack['repo']}@{pack['commit']}",
        "licence": pack["licence"],
        "note": "rule examples and negative examples written by the pack's authors",
        "files": [f"{pack['dir']}/{n}" for n in files],
        "rules": rules,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"secret-rules-{source}.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    count = sum(len(r["examples"]) for r in rules)
    print(f"{source}: {len(rules)} rules, {count} examples -> {path}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for source in PACKS:
        parser.add_argument(f"--{source}", required=True, metavar="GIT_DIR")
    args = parser.parse_args()
    for source in PACKS:
        extract(source, getattr(args, source))


if __name__ == "__main__":
    main()
