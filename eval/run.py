# ruff: noqa: RUF005
"""Recall and false-positive rate of each detector, per source and leave-one-source-out.

Every corpus item names its `origin`, the source it came from. Leave-one-source-out (LOSO) holds
one source out whole, trains and tunes on all the others (for a learned detector: the model and
its threshold at the target false-positive rate), and scores the held-out source; the figure
published in docs/detectors.md is that one, per source. A rules-only detector (secrets) has
nothing to train, so its LOSO figures are its per-source figures.

    .venv/bin/python eval/run.py                       # shipped detectors, per source
    .venv/bin/python eval/run.py --loso injection      # LOSO for one kind (a few CPU-minutes)
    .venv/bin/python eval/run.py --loso all --json out.json
    .venv/bin/python eval/run.py --misses injection    # items the shipped detector gets wrong

A new detector kind plugs in by adding an `Evaluation` to `EVALUATIONS`: something that, given
the training items, returns a function from an item to a verdict.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE))

import train  # noqa: E402

from ostiary.cli.detect import scanner  # noqa: E402

Item = dict[str, Any]
Verdict = Callable[[int], bool]
POINTS = ("fpr1", "fpr2")


class Evaluation(Protocol):
    kind: str
    items: list[Item]

    def fit(self, train_rows: np.ndarray, point: str) -> Verdict:
        """A verdict function over row numbers, built only from `train_rows`."""
        ...

    def shipped(self, point: str) -> Verdict:
        """The verdicts of the detector as it ships."""
        ...


class RulesOnly:
    """A detector with nothing to train: every fold gets the same verdicts."""

    def __init__(self, kind: str, items: list[Item]) -> None:
        self.kind = kind
        self.items = items
        scan = scanner(kind)
        self.flags = [bool(scan(it)["flagged"]) for it in items]

    def fit(self, train_rows: np.ndarray, point: str) -> Verdict:
        return self.shipped(point)

    def shipped(self, point: str) -> Verdict:
        return lambda row: self.flags[row]


class RulesAndModel:
    """Rules first, then the learned tier on what they let through: the model and its threshold
    at the target false-positive rate come from the training rows only."""

    def __init__(self, kind: str, items: list[Item], steps: int = train.STEPS) -> None:
        self.kind = kind
        self.items = items
        self.steps = steps
        self.texts = [train.text_of(kind, it) for it in items]
        self.labels = np.array([it["label"] == "malicious" for it in items], dtype=np.int64)
        self.groups = [train.origin(it) for it in items]
        self.rules = train.rule_verdicts(kind, items)
        self.features = train.features(kind, items)
        self.windows = train.Windows(self.texts)
        self._cache: dict[tuple[int, ...], tuple[np.ndarray, dict[str, float]]] = {}

    def _model(self, train_rows: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        """Every item's probability under a model trained on `train_rows`, and its thresholds."""
        key = tuple(int(r) for r in train_rows[:: max(len(train_rows) // 50, 1)]) + (len(train_rows),)
        if key not in self._cache:
            thresholds = train.out_of_fold_thresholds(
                self.kind, self.texts, self.features, self.labels, self.groups, train_rows, self.rules,
                self.windows,
            )  # fmt: skip
            w, b = train.fit(self.features, train_rows, self.labels, self.steps)
            self._cache[key] = (self.windows.probabilities(w, b), thresholds)
        return self._cache[key]

    def fit(self, train_rows: np.ndarray, point: str) -> Verdict:
        probs, thresholds = self._model(train_rows)
        cut = thresholds[point]
        return lambda row: bool(self.rules[row]) or bool(probs[row] >= cut)

    def shipped(self, point: str) -> Verdict:
        scan = scanner(self.kind, model="on", model_threshold=point)
        flags = [bool(scan(it)["flagged"]) for it in self.items]
        return lambda row: flags[row]


def rules_of(evaluation: Evaluation) -> Verdict:
    flags = train.rule_verdicts(evaluation.kind, evaluation.items)
    return lambda row: bool(flags[row])


EVALUATIONS: dict[str, Callable[[list[Item]], Evaluation]] = {
    "injection": lambda items: RulesAndModel("injection", items),
    "poisoning": lambda items: RulesAndModel("poisoning", items),
    "secrets": lambda items: RulesOnly("secrets", items),
}


@dataclass
class Row:
    source: str
    malicious: int
    benign: int
    recall: float | None
    fpr: float | None

    def cells(self) -> str:
        recall = "" if self.recall is None else f"{self.recall:.3f}"
        fpr = "" if self.fpr is None else f"{self.fpr:.2%}"
        return f"| {self.source} | {self.malicious} | {self.benign} | {recall} | {fpr} |"


def score(items: list[Item], rows: Sequence[int], verdict: Verdict, source: str) -> Row:
    mal = [r for r in rows if items[r]["label"] == "malicious"]
    ben = [r for r in rows if items[r]["label"] != "malicious"]
    recall = sum(verdict(r) for r in mal) / len(mal) if mal else None
    fpr = sum(verdict(r) for r in ben) / len(ben) if ben else None
    return Row(source, len(mal), len(ben), recall, fpr)


def by_source(items: list[Item]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for row, item in enumerate(items):
        out[train.origin(item)].append(row)
    return dict(sorted(out.items()))


def loso(evaluation: Evaluation, point: str) -> list[Row]:
    """Each source scored by a detector trained and tuned without it; last row: all sources."""
    items = evaluation.items
    sources = by_source(items)
    rows: list[Row] = []
    pooled: dict[int, bool] = {}
    for source, held in sources.items():
        train_rows = np.array([r for r in range(len(items)) if train.origin(items[r]) != source])
        verdict = evaluation.fit(train_rows, point)
        rows.append(score(items, held, verdict, source))
        pooled.update({r: verdict(r) for r in held})
    rows.append(score(items, range(len(items)), lambda r: pooled[r], "all sources (each held out)"))
    return rows


def per_source(items: list[Item], verdict: Verdict) -> list[Row]:
    rows = [score(items, held, verdict, source) for source, held in by_source(items).items()]
    rows.append(score(items, range(len(items)), verdict, "all sources"))
    return rows


def table(title: str, rows: list[Row]) -> str:
    head = f"\n{title}\n\n| source | malicious | benign | recall | FPR |\n|---|---:|---:|---:|---:|"
    return head + "\n" + "\n".join(r.cells() for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loso", choices=(*EVALUATIONS, "all"), help="leave-one-source-out for a kind")
    parser.add_argument("--kinds", default=",".join(EVALUATIONS), help="kinds for the per-source table")
    parser.add_argument("--misses", choices=tuple(EVALUATIONS), help="misses and false alarms of a kind")
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--secrets-sources", action="store_true", help="secrets/PII per kind and source, leaving one out"
    )
    args = parser.parse_args()
    if args.secrets_sources:
        sys.path.insert(0, str(pathlib.Path(__file__).parent / "secrets"))
        import evaluate as secrets_evaluation  # noqa: PLC0415 (eval/secrets/evaluate.py)

        secrets_evaluation.report()
        return
    report: dict[str, Any] = {}
    if args.misses:
        items = train.load(args.misses)
        evaluation = EVALUATIONS[args.misses](items)
        verdict = evaluation.shipped("fpr1")
        for row, item in enumerate(items):
            if verdict(row) != (item["label"] == "malicious"):
                kind = "FP" if verdict(row) else "FN"
                print(f"{kind} {item['id']} {item.get('class', '')} {item['source'][:100]}")
        return
    kinds = list(EVALUATIONS) if args.loso == "all" else [args.loso] if args.loso else args.kinds.split(",")
    for kind in kinds:
        items = train.load(kind)
        evaluation = EVALUATIONS[kind](items)
        if args.loso:
            for point in POINTS:
                rows = loso(evaluation, point)
                print(table(f"{kind}: leave-one-source-out, rules + model at {point}", rows))
                report[f"{kind}/loso/{point}"] = [r.__dict__ for r in rows]
            rows = per_source(items, rules_of(evaluation))
            print(table(f"{kind}: rules alone", rows))
            report[f"{kind}/rules"] = [r.__dict__ for r in rows]
        else:
            for point in POINTS if isinstance(evaluation, RulesAndModel) else ("rules",):
                rows = per_source(items, evaluation.shipped(point))
                print(table(f"{kind}: shipped detector ({point}), in-sample for the model", rows))
                report[f"{kind}/shipped/{point}"] = [r.__dict__ for r in rows]
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
