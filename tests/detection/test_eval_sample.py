"""The evaluation as a regression check: the shipped detectors on a fixed sample of every source
of the corpus, and the leave-one-source-out machinery on a corpus where leakage would show."""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

EVAL = Path(__file__).parents[2] / "eval"
sys.path.insert(0, str(EVAL))

import run  # noqa: E402
import train  # noqa: E402

from ostiary.cli.detect import scanner  # noqa: E402

PER_GROUP = 12
# Recall and FPR floors on this sample, the shipped models at their 1% operating point (in-sample
# for the model, which was trained on the whole corpus; measured 0.89 (117/132) and 0.88 (105/120)
# recall, 0% FPR, with this round's override, persona, forged-turn, cipher and harvest rules;
# 0.69 and 0.55 before them); a drop below these is a quality regression.
FLOORS = {"injection": (0.85, 0.03), "poisoning": (0.84, 0.03)}


def fixed_sample(kind: str) -> list[dict[str, object]]:
    """The first PER_GROUP items of each (source, label) in a stable order of their ids."""
    groups: dict[tuple[str, str], list[dict[str, object]]] = {}
    for item in train.load(kind):
        groups.setdefault((train.origin(item), str(item["label"])), []).append(item)
    out = []
    for key in sorted(groups):
        ordered = sorted(groups[key], key=lambda i: hashlib.sha256(str(i["id"]).encode()).hexdigest())
        out += ordered[:PER_GROUP]
    return out


@pytest.mark.parametrize("kind", sorted(FLOORS))
def test_the_shipped_detector_keeps_its_quality_on_a_fixed_sample(kind: str) -> None:
    items = fixed_sample(kind)
    scan = scanner(kind, model="on", model_threshold="fpr1")
    flagged = [bool(scan(item)["flagged"]) for item in items]
    malicious = [f for f, i in zip(flagged, items, strict=True) if i["label"] == "malicious"]
    benign = [f for f, i in zip(flagged, items, strict=True) if i["label"] != "malicious"]
    min_recall, max_fpr = FLOORS[kind]
    assert sum(malicious) / len(malicious) >= min_recall
    assert sum(benign) / len(benign) <= max_fpr


def test_leave_one_source_out_never_trains_on_the_source_it_scores() -> None:
    """Each source's attacks share a made-up word no other source has (its benign items another):
    trained with the source, the model learns the word; held out, it cannot, so recall falls."""
    items = []
    filler = "the report lists the figures for each region and the totals for the year"
    marks = ["zqxvw", "plokij", "mnbvcx", "qwertz"]  # letters only: digits are folded together
    for s in range(4):
        for n in range(12):
            items.append({"id": f"m{s}{n}", "label": "malicious", "origin": f"s{s}",
                          "text": f"{filler} {marks[s]} {n}"})  # fmt: skip
            items.append({"id": f"b{s}{n}", "label": "benign", "origin": f"s{s}",
                          "text": f"{filler} {marks[s][::-1]} {n}"})  # fmt: skip
    evaluation = run.RulesAndModel("injection", items, steps=40)
    everything = np.arange(len(items))
    inside = evaluation.fit(everything, "fpr2")
    in_sample = sum(inside(r) for r in range(len(items)) if items[r]["label"] == "malicious")
    rows = run.loso(evaluation, "fpr2")
    held_out = rows[-1]
    assert [r.source for r in rows[:-1]] == ["s0", "s1", "s2", "s3"]
    assert in_sample >= 40
    assert held_out.recall is not None and held_out.recall <= 0.25


def test_a_rules_only_detector_plugs_into_the_same_machinery() -> None:
    items = [
        {"id": "a", "label": "malicious", "origin": "x", "text": "key AKIAZ3XQ7PLMWERT5YHU"},
        {"id": "b", "label": "benign", "origin": "y", "text": "nothing to see"},
    ]
    rows = run.loso(run.RulesOnly("secrets", items), "fpr1")
    assert [(r.source, r.recall, r.fpr) for r in rows] == [("x", 1.0, None), ("y", None, 0.0), (
        "all sources (each held out)", 1.0, 0.0)]  # fmt: skip


def test_every_corpus_item_names_its_source_and_provenance() -> None:
    for kind in ("injection", "poisoning"):
        for item in train.load(kind):
            assert item["origin"] and item["source"] and item["label"] in {"malicious", "benign"}
    for doc in (EVAL / "sources" / "public").glob("*.json"):
        meta = json.loads(doc.read_text())
        assert meta["package"] and meta["licence"], doc.name
