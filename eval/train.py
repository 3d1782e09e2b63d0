"""Train the learned tier's models from the evaluation corpus and ship them in the package.

    .venv/bin/python eval/train.py            # both kinds -> src/ostiary/detection/models/
    .venv/bin/python eval/train.py injection  # one kind

Deterministic: fixed hashing seed, full-batch training from zero weights, no sampling. The
operating points stored in the model (probability thresholds at 1% and 2% false positives) come
from out-of-fold scores of a grouped cross-validation by source, never from scores on the
training items themselves. Metrics and the corpus digest are written next to each model.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse

from ostiary.detection import learned
from ostiary.detection.poisoning import definition_text

HERE = pathlib.Path(__file__).parent
CORPUS = HERE / "corpus"
DIM = 1 << 18
SEED = 13
L2 = float(os.environ.get("OSTIARY_TRAIN_L2", "1e-3"))
BALANCE_SOURCES = os.environ.get("OSTIARY_TRAIN_BALANCE", "1") == "1"
STEPS = int(os.environ.get("OSTIARY_TRAIN_STEPS", "160"))
# The context features (learned.py): word classes, sentence starts, tool names, each counted
# CONTEXT times. 0 (shipped): n-grams only, which held out better on the full corpus
# (docs/detectors.md, "Choosing the learned model").
CONTEXT = int(os.environ.get("OSTIARY_TRAIN_CONTEXT", "0"))
TARGETS = {"fpr1": 0.01, "fpr2": 0.02}


def origin(item: dict[str, Any]) -> str:
    """The source a leave-one-source-out run holds out whole."""
    if "origin" in item:
        return str(item["origin"])
    return str(item.get("source", "")).split(";")[0].split(" (")[0]


def text_of(kind: str, item: dict[str, Any]) -> str:
    if kind == "poisoning":
        return definition_text(_definition(item))
    return str(item["text"])


def _definition(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source, target in (("name", "name"), ("description", "description"), ("input_schema", "inputSchema")):
        if source in item:
            out[target] = item[source]
    return out


def load(kind: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in (CORPUS / f"{kind}.jsonl").read_text(encoding="utf-8").split("\n")
        if line
    ]


def segments(kind: str, item: dict[str, Any]) -> list[str]:
    """What the model is trained on for one item, in the windows it reads at run time: for an
    injected result or definition, the injected text (the carrier around it is benign); otherwise
    the text."""
    text = text_of(kind, item)
    if item["label"] == "malicious" and item.get("payload"):
        text = str(item["payload"])
    return [text[s:e] for s, e in learned.windows(len(text))]


class Features:
    """The training segments as a sparse matrix, built once; `item` maps a segment to its item."""

    def __init__(
        self, texts: Sequence[str], dim: int = DIM, seed: int = SEED, item: Sequence[int] = (),
        context: int = CONTEXT,
    ) -> None:  # fmt: skip
        rows, cols, vals = [], [], []
        self.item = np.asarray(item if item else range(len(texts)), dtype=np.int64)
        self.groups: np.ndarray | None = None
        for r, text in enumerate(texts):
            idx, v = learned.vectorize(text, dim, seed, context)
            rows.append(np.full(len(idx), r, dtype=np.int64))
            cols.append(idx)
            vals.append(v)
        self.rows = np.concatenate(rows)
        self.cols = np.concatenate(cols)
        self.vals = np.concatenate(vals).astype(np.float64)
        self.n = len(texts)
        self.matrix = scipy.sparse.csr_matrix((self.vals, (self.rows, self.cols)), shape=(self.n, dim))
        self.dim = dim
        self.seed = seed


class Windows:
    """Every window `LinearModel.score` reads in each text, as rows of a sparse matrix built
    once, so a model's score of every text is one product, not a pass of hashing per text."""

    def __init__(
        self, texts: Sequence[str], dim: int = DIM, seed: int = SEED, context: int = CONTEXT
    ) -> None:
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        owner: list[int] = []
        r = 0
        for t, text in enumerate(texts):
            points = learned.codes(text)
            found = learned.grams(points, dim, seed, context) if len(points) >= learned.NGRAMS[0] else []
            pos = np.concatenate([p for p, _ in found]) if found else np.zeros(0, dtype=np.int64)
            idx = np.concatenate([g for _, g in found]) if found else np.zeros(0, dtype=np.int64)
            if len(points) <= learned.WHOLE:
                spans = [(0, len(points) + 1)]
            else:
                spans = [(s, s + learned.WINDOW) for s, _ in learned.windows(len(points))]
            for start, end in spans:
                sel = idx[(pos >= start) & (pos < end)]
                rows.append(np.full(len(sel), r, dtype=np.int64))
                cols.append(sel)
                vals.append(np.full(len(sel), 1.0 / np.sqrt(max(len(sel), 1))))
                owner.append(t)
                r += 1
        self.owner = np.asarray(owner, dtype=np.int64)
        self.matrix = scipy.sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, dim)
        )
        self.n = len(texts)

    def probabilities(self, w: np.ndarray, b: float) -> np.ndarray:
        """Each text's best-window probability under weights `w` and bias `b`."""
        logits = np.full(self.n, -np.inf)
        np.maximum.at(logits, self.owner, self.matrix @ w.astype(np.float64) + b)
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))


def features(kind: str, items: list[dict[str, Any]]) -> Features:
    texts: list[str] = []
    owner: list[int] = []
    for row, it in enumerate(items):
        for segment in segments(kind, it):
            texts.append(segment)
            owner.append(row)
    feats = Features(texts, item=owner)
    feats.groups = np.array([origin(it) for it in items])
    return feats


def _balance(y: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Sample weights: each class half the total, and within a class each source an equal share,
    so the largest source does not decide what 'malicious' looks like."""
    sw = np.zeros(len(y))
    for label in (0, 1):
        mask = y == label
        if not mask.any():
            continue
        if groups is None or not BALANCE_SOURCES:
            sw[mask] = 0.5 / mask.sum()
            continue
        names = np.unique(groups[mask])
        for name in names:
            sel = mask & (groups == name)
            sw[sel] = 0.5 / len(names) / sel.sum()
    return sw


def fit(
    feats: Features, subset: np.ndarray, labels: np.ndarray, steps: int = STEPS
) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression, classes weighted equally, full-batch Adam. `subset`
    and `labels` are by item; every segment of a chosen item is trained on."""
    chosen = np.flatnonzero(np.isin(feats.item, subset))
    x = feats.matrix[chosen]
    xt = x.T.tocsr()
    y = labels[feats.item[chosen]].astype(np.float64)
    sw = _balance(y, feats.groups[feats.item[chosen]] if feats.groups is not None else None)
    w = np.zeros(feats.dim)
    b = 0.0
    m, v = np.zeros(feats.dim), np.zeros(feats.dim)
    mb = vb = 0.0
    lr, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        z = x @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        g = (p - y) * sw
        gw = xt @ g + L2 * w
        gb = float(g.sum())
        m = beta1 * m + (1 - beta1) * gw
        v = beta2 * v + (1 - beta2) * gw * gw
        w -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
        mb = beta1 * mb + (1 - beta1) * gb
        vb = beta2 * vb + (1 - beta2) * gb * gb
        b -= lr * (mb / (1 - beta1**t)) / (np.sqrt(vb / (1 - beta2**t)) + eps)
    return w.astype(np.float32), float(b)


def model_of(
    kind: str, w: np.ndarray, b: float, thresholds: dict[str, float] | None = None
) -> learned.LinearModel:
    return learned.LinearModel(kind, w, b, SEED, thresholds or {}, CONTEXT)


def threshold_at(benign_scores: Sequence[float], fpr: float) -> float:
    """The lowest threshold whose false-positive rate on these benign scores is at most `fpr`."""
    s = np.sort(np.asarray(benign_scores, dtype=np.float64))[::-1]
    allowed = int(np.floor(fpr * len(s)))
    if len(s) == 0:
        return 0.5
    if allowed >= len(s):
        return float(s[-1])
    return float(np.nextafter(s[allowed], 1.0))


def grouped_folds(groups: Sequence[str], k: int = 4) -> list[set[str]]:
    """Sources dealt into k folds by a stable hash, so a source is never split between folds."""
    folds: list[set[str]] = [set() for _ in range(k)]
    for g in sorted(set(groups)):
        folds[int(hashlib.sha256(g.encode()).hexdigest()[:8], 16) % k].add(g)
    return [f for f in folds if f]


def out_of_fold_thresholds(
    kind: str, texts: Sequence[str], feats: Features, labels: np.ndarray, groups: Sequence[str],
    subset: np.ndarray, rule_flags: np.ndarray, scored: Windows | None = None,
) -> dict[str, float]:  # fmt: skip
    """Operating points from benign items scored by models that never saw their source.
    Benign items the rules already flag are left out: the model threshold adds to the rules.
    `scored`: the texts' windows, when built once for many calls."""
    benign_scores: list[float] = []
    sub_groups = [groups[i] for i in subset]
    for fold in grouped_folds(sub_groups):
        train = np.array([i for i in subset if groups[i] not in fold])
        test = [i for i in subset if groups[i] in fold and labels[i] == 0]
        if len(train) == 0 or not test or labels[train].min() == labels[train].max():
            continue
        w, b = fit(feats, train, labels)
        if scored is not None:
            probs = scored.probabilities(w, b)
            benign_scores += [float(probs[i]) for i in test if not rule_flags[i]]
            continue
        model = model_of(kind, w, b)
        benign_scores += [model.score(texts[i]).probability for i in test if not rule_flags[i]]
    n_benign = int(sum(1 for i in subset if labels[i] == 0))
    # Rules' own false positives use part of the budget; the model gets the rest.
    rule_fp = int(sum(1 for i in subset if labels[i] == 0 and rule_flags[i]))
    out = {}
    for name, target in TARGETS.items():
        budget = max(target * n_benign - rule_fp, 0.0) / max(len(benign_scores), 1)
        out[name] = threshold_at(benign_scores, budget)
    return out


def train(
    kind: str, items: list[dict[str, Any]], rule_flags: np.ndarray
) -> tuple[learned.LinearModel, dict[str, Any]]:
    texts = [text_of(kind, it) for it in items]
    labels = np.array([it["label"] == "malicious" for it in items], dtype=np.int64)
    groups = [origin(it) for it in items]
    feats = features(kind, items)
    everything = np.arange(len(items))
    thresholds = out_of_fold_thresholds(kind, texts, feats, labels, groups, everything, rule_flags)
    w, b = fit(feats, everything, labels)
    model = model_of(kind, w, b, thresholds)
    digest = hashlib.sha256((CORPUS / f"{kind}.jsonl").read_bytes()).hexdigest()
    info = {"corpus": f"eval/corpus/{kind}.jsonl", "corpus_sha256": digest, "items": len(items),
            "malicious": int(labels.sum()), "benign": int(len(items) - labels.sum()), "dim": DIM,
            "seed": SEED, "l2": L2, "steps": STEPS, "context": CONTEXT, "balance_sources": BALANCE_SOURCES,
            "thresholds": thresholds}  # fmt: skip
    return model, info


def rule_verdicts(kind: str, items: list[dict[str, Any]]) -> np.ndarray:
    from ostiary.cli.detect import scanner  # noqa: PLC0415

    scan = scanner(kind, model="off")
    return np.array([bool(scan(it)["flagged"]) for it in items])


def main(argv: list[str]) -> None:
    kinds = argv or ["injection", "poisoning"]
    learned.MODELS.mkdir(exist_ok=True)
    for kind in kinds:
        items = load(kind)
        model, info = train(kind, items, rule_verdicts(kind, items))
        path = learned.shipped(kind)
        model.save(path, {"corpus_sha256": info["corpus_sha256"]})
        info["size_bytes"] = path.stat().st_size
        (path.with_suffix(".metrics.json")).write_text(json.dumps(info, indent=1) + "\n")
        print(f"{kind}: {path} {info['size_bytes']} bytes, thresholds {info['thresholds']}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
