"""Recall and false-positive rate of `ostiary detect secrets` on eval/secrets/corpus.jsonl, per
kind, per source, and leaving one source out.

A positive item counts as found when a finding of its kind is reported (`credential`: any
`secret.*` rule; `pii.<category>`: that rule). A negative item is a false positive for a kind
when a finding of that kind is reported on it, and for the detector when any finding is.

The rules are not fitted to this corpus; the one thing chosen from data is a confidence
threshold per kind. Leave-one-source-out chooses it on every other source (the lowest that
keeps the kind's false-positive rate at or under 2%, i.e. the most recall) and measures the
left-out source with it, so no source is measured with a threshold it helped choose.

A rule pack's examples are measured leaving that pack out (leave-one-pack-out): the items of
`rules:noseyparker` by a detector built without the Nosey Parker pack (gitleaks, Kingfisher and
Ostiary's own rules), those of `rules:kingfisher` without the Kingfisher pack, those of
`rules:titus` without the Titus pack; every other source by the full shipped set. Titus, Nosey
Parker's successor, carries rules derived from both older packs (ids `titus.np.*` and
`titus.kingfisher.*`): leaving Nosey Parker out also leaves out Titus's `np.*` rules, leaving
Kingfisher out its `kingfisher.*` rules. Kingfisher adopted many of Nosey Parker's rules, so
the two packs are not independent and the held-out figure is optimistic to that degree; the
rule-pack table also gives
gitleaks and Ostiary's own rules alone (independent of both packs) and the full set (in-sample).

Every figure is given twice: on all items, and without the positives that carry nothing telling
their value from an ordinary number (`labels.py`: a bare US passport number, a phone number as a
plain digit run), which stay in the corpus.

    .venv/bin/python eval/secrets/evaluate.py             # per kind, LOSO, per source
    .venv/bin/python eval/secrets/evaluate.py --misses    # ids of misses and false alarms
"""

from __future__ import annotations

import argparse
import json
import pathlib
from typing import Any

from labels import documentation_filler, undecidable  # eval/secrets/labels.py

from ostiary.detection import gitleaks
from ostiary.detection.gitleaks import PACKS
from ostiary.detection.secrets import SecretsDetector, SecretsOptions

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus.jsonl"
FPR_TARGET = 0.02


def _family(rule: str) -> str:
    return "credential" if rule.startswith("secret.") else rule


def held_out(source: str) -> tuple[str, ...]:
    """The rule packs a source is measured with: every shipped pack, except the one whose
    examples the source is (`rules:noseyparker` is measured without the Nosey Parker pack)."""
    return tuple(p for p in PACKS if source != f"rules:{p}")


# Titus's rules derived from an older pack's: `titus.np.*` from Nosey Parker's.
DERIVED = {"noseyparker": "titus.np.", "kingfisher": "titus.kingfisher."}


def derived(source: str) -> frozenset[str]:
    """The rules of other packs derived from the pack whose examples `source` is: left out
    with it."""
    prefix = DERIVED.get(source.removeprefix("rules:"))
    if prefix is None or "titus" not in PACKS:
        return frozenset()
    return frozenset(
        "secret." + r["id"] for r in gitleaks.pack("titus")["rules"] if r["id"].startswith(prefix)
    )


def scored(
    items: list[dict[str, Any]], packs: tuple[str, ...] | None = None
) -> list[tuple[dict[str, Any], dict[str, float]]]:
    """Each item with the best confidence per kind found in it, by the detector with `packs`
    (None: per item, `held_out(item's source)` without the rules `derived` from its pack)."""
    detectors: dict[tuple[tuple[str, ...], frozenset[str]], SecretsDetector] = {}
    out = []
    for item in items:
        chosen = held_out(item["source"]) if packs is None else packs
        off = derived(item["source"]) if packs is None or packs != PACKS else frozenset()
        if (chosen, off) not in detectors:
            detectors[chosen, off] = SecretsDetector(SecretsOptions(packs=chosen, disabled=off))
        report = detectors[chosen, off].scan(item["text"], "/text").to_dict()
        best: dict[str, float] = {}
        for finding in report["findings"]:
            kind = _family(finding["rule"])
            best[kind] = max(best.get(kind, 0.0), _confidence(finding))
        out.append((item, best))
    return out


def _confidence(finding: dict[str, Any]) -> float:
    # `ostiary detect` reports severity, not weight; map it back to the severity's floor.
    return {"critical": 0.85, "high": 0.6, "medium": 0.35, "low": 0.0}[finding["severity"]]


def rates(
    results: list[tuple[dict[str, Any], dict[str, float]]], kind: str, threshold: float
) -> tuple[int, int, int, int]:
    """(found, positives, false alarms, negatives) for `kind` at `threshold`."""
    pos = [best for item, best in results if item["label"] == "positive" and item["kind"] == kind]
    neg = [best for item, best in results if item["label"] == "negative"]
    found = sum(1 for best in pos if best.get(kind, -1.0) >= threshold)
    alarms = sum(1 for best in neg if best.get(kind, -1.0) >= threshold)
    return found, len(pos), alarms, len(neg)


def choose(results: list[tuple[dict[str, Any], dict[str, float]]], kind: str) -> float:
    """The lowest threshold keeping the kind's FPR within target on these results."""
    for threshold in (0.0, 0.35, 0.6, 0.85, 1.01):
        _, _, alarms, negatives = rates(results, kind, threshold)
        if not negatives or alarms / negatives <= FPR_TARGET:
            return threshold
    return 1.01


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--misses", action="store_true", help="list misses and false alarms")
    report(parser.parse_args().misses)


def per_kind(
    results: list[tuple[dict[str, Any], dict[str, float]]], kinds: list[str], sources: list[str]
) -> None:
    """Recall and FPR per kind over `results`, and leaving one source out."""
    print("| kind | positives | recall | FPR (kind) | LOSO recall | LOSO FPR (kind) |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in kinds:
        found, pos, alarms, neg = rates(results, kind, 0.0)
        loso_found = loso_pos = loso_alarms = loso_neg = 0
        for source in sources:
            train = [r for r in results if r[0]["source"] != source]
            test = [r for r in results if r[0]["source"] == source]
            threshold = choose(train, kind)
            f, p, a, n = rates(test, kind, threshold)
            loso_found, loso_pos, loso_alarms, loso_neg = (
                loso_found + f,
                loso_pos + p,
                loso_alarms + a,
                loso_neg + n,
            )
        print(
            f"| {kind} | {pos} | {found / pos:.3f} | {alarms / neg:.2%} | "
            f"{loso_found / loso_pos:.3f} | {loso_alarms / loso_neg:.2%} |"
        )


def report(misses: bool = False) -> None:
    items = [json.loads(line) for line in CORPUS.read_text().splitlines()]
    results = scored(items)
    kinds = sorted({item["kind"] for item in items if item["label"] == "positive"})
    sources = sorted({item["source"] for item in items})

    print("### Per kind (all sources, every finding counts)\n")
    per_kind(results, kinds, sources)
    decidable = [r for r in results if not undecidable(r[0])]
    left_out = len(results) - len(decidable)
    print(f"\n### Per kind, without the {left_out} items no detector can decide (eval/secrets/labels.py)\n")
    per_kind(decidable, kinds, sources)
    fill = [r for r in results if documentation_filler(r[0])]
    print(
        f"\n### Per kind, without the {len(fill)} rule-pack examples whose value is documentation filler"
        " (eval/secrets/labels.py)\n"
    )
    per_kind([r for r in results if not documentation_filler(r[0])], kinds, sources)

    print("\n### Recall by how the value is presented\n")
    contexts = sorted({item["context"] for item in items if item["label"] == "positive"})
    print("| kind | " + " | ".join(contexts) + " |")
    print("|---|" + "---:|" * len(contexts))
    for kind in kinds:
        cells = []
        for context in contexts:
            rows = [
                (i, b)
                for i, b in results
                if i["label"] == "positive" and i["kind"] == kind and i["context"] == context
            ]
            cells.append(f"{sum(1 for i, b in rows if kind in b)}/{len(rows)}" if rows else "-")
        print(f"| {kind} | " + " | ".join(cells) + " |")

    print("\n### Rule-pack sources by the packs the detector runs\n")
    print(
        "| source | positives | gitleaks + Ostiary's rules (independent) | leave-one-pack-out | "
        "all packs (in-sample) | FPR on its negatives, leave-one-pack-out | "
        "leave-one-pack-out without filler (positives) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for pack in PACKS[1:]:
        source = f"rules:{pack}"
        subset = [i for i in items if i["source"] == source]
        cells = []
        for packs in (("gitleaks",), held_out(source), PACKS):
            rows = [r for r in scored(subset, packs) if r[0]["label"] == "positive"]
            cells.append(f"{sum(1 for i, b in rows if i['kind'] in b) / len(rows):.3f}")
        rows = [r for r in results if r[0]["source"] == source]
        neg = [b for i, b in rows if i["label"] == "negative"]
        fpr = f"{sum(1 for b in neg if b) / len(neg):.2%} of {len(neg)}" if neg else "-"
        pos = sum(1 for i, _ in rows if i["label"] == "positive")
        real = [(i, b) for i, b in rows if i["label"] == "positive" and not documentation_filler(i)]
        kept = f"{sum(1 for i, b in real if i['kind'] in b) / len(real):.3f} ({len(real)})"
        print(f"| {source} | {pos} | " + " | ".join(cells) + f" | {fpr} | {kept} |")

    print("\n### Per source (rule-pack sources leave their pack out)\n")
    print("| source | licence | items | positives | recall | negatives | FPR (any finding) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for source in sources:
        rows = [r for r in results if r[0]["source"] == source]
        pos = [(item, best) for item, best in rows if item["label"] == "positive"]
        neg = [best for item, best in rows if item["label"] == "negative"]
        found = sum(1 for item, best in pos if item["kind"] in best)
        alarms = sum(1 for best in neg if best)
        licence = rows[0][0]["licence"][:40]
        recall = f"{found / len(pos):.3f}" if pos else "-"
        fpr = f"{alarms / len(neg):.2%}" if neg else "-"
        print(f"| {source} | {licence} | {len(rows)} | {len(pos)} | {recall} | {len(neg)} | {fpr} |")

    negatives = [best for item, best in results if item["label"] == "negative"]
    positives = [(item, best) for item, best in results if item["label"] == "positive"]
    overall_recall = sum(1 for item, best in positives if item["kind"] in best) / len(positives)
    overall_fpr = sum(1 for best in negatives if best) / len(negatives)
    print(f"\nAll: {len(items)} items, recall {overall_recall:.3f}, FPR (any finding) {overall_fpr:.2%}")

    if misses:
        for item, best in results:
            if item["label"] == "positive" and item["kind"] not in best:
                mark = " filler" if documentation_filler(item) else ""
                print(f"    FN{mark} {item['id']} {item['source']} {item['kind']} {item['text'][:100]!r}")
            if item["label"] == "negative" and best:
                print(f"    FP {item['id']} {item['source']} {sorted(best)}")


if __name__ == "__main__":
    main()
