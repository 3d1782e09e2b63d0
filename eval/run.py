"""Precision, recall, F1 and false-positive rate of each detector on the evaluation corpus.

Each item goes through the same function `ostiary detect KIND` applies to a JSON line. The dev
split is what the rules were written against; the held-out split was only ever measured.

    .venv/bin/python eval/run.py                 # the table
    .venv/bin/python eval/run.py --misses dev    # ids of misses and false alarms on dev
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections import Counter, defaultdict
from typing import Any

from ostiary.cli.detect import scanner

CORPUS = pathlib.Path(__file__).parent / "corpus"
KINDS = ("injection", "poisoning", "secrets")


def evaluate(kind: str) -> list[tuple[dict[str, Any], bool]]:
    scan = scanner(kind)
    items = [json.loads(line) for line in (CORPUS / f"{kind}.jsonl").read_text().splitlines()]
    return [(item, bool(scan(item)["flagged"])) for item in items]


def metrics(results: list[tuple[dict[str, Any], bool]]) -> dict[str, float]:
    tp = sum(1 for item, flagged in results if flagged and item["label"] == "malicious")
    fn = sum(1 for item, flagged in results if not flagged and item["label"] == "malicious")
    fp = sum(1 for item, flagged in results if flagged and item["label"] == "benign")
    tn = sum(1 for item, flagged in results if not flagged and item["label"] == "benign")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": len(results), "pos": tp + fn, "neg": fp + tn, "precision": precision, "recall": recall,
            "f1": f1, "fpr": fp / (fp + tn) if fp + tn else 0.0}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--misses", choices=("dev", "heldout"), help="list misses and false alarms of a split"
    )
    parser.add_argument("--by-class", action="store_true", help="recall per attack class")
    parser.add_argument(
        "--secrets-sources", action="store_true", help="secrets/PII per kind and source, leaving one out"
    )
    args = parser.parse_args()
    if args.secrets_sources:
        sys.path.insert(0, str(pathlib.Path(__file__).parent / "secrets"))
        import evaluate as secrets_evaluation  # noqa: PLC0415 (eval/secrets/evaluate.py)

        secrets_evaluation.report()
        return
    print("| detector | split | items | malicious | benign | precision | recall | F1 | FPR |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind in KINDS:
        results = evaluate(kind)
        by_split: dict[str, list[tuple[dict[str, Any], bool]]] = defaultdict(list)
        for item, flagged in results:
            by_split[item["split"]].append((item, flagged))
        for split in ("dev", "heldout"):
            m = metrics(by_split[split])
            print(f"| {kind} | {split} | {m['n']} | {m['pos']} | {m['neg']} | {m['precision']:.3f} | "
                  f"{m['recall']:.3f} | {m['f1']:.3f} | {m['fpr']:.3%} |")  # fmt: skip
        if args.by_class:
            seen: Counter[str] = Counter()
            hit: Counter[str] = Counter()
            for item, flagged in results:
                if item["label"] == "malicious":
                    seen[item["class"]] += 1
                    hit[item["class"]] += flagged
            print("    " + ", ".join(f"{c}: {hit[c]}/{seen[c]}" for c in sorted(seen)))
        if args.misses:
            for item, flagged in by_split[args.misses]:
                if flagged != (item["label"] == "malicious"):
                    verdict = "FP" if flagged else "FN"
                    print(f"    {verdict} {item['id']} {item.get('class', '')} {item['source'][:90]}")


if __name__ == "__main__":
    main()
