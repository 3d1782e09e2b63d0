"""Leave-one-source-out of the pretrained-semantic options, by eval/run.py's own protocol: rules
first, then a logistic model on what they let through, its threshold at 1% / 2% false positives
from a grouped cross-validation inside the training sources.

    .venv/bin/python eval/compare/static_loso.py injection [static|raw|encoder|hashed] [N]

N: only every Nth item of each (source, label), in a stable order of ids (a sample; the full
encoder needs one: it reads about 2 KB a second here). `hashed` is eval/run.py's model on the
same items, for a like-for-like row.

static: a table distilled from all-MiniLM-L6-v2 (minilm.py), mean of token vectors per
512-character window (as learned.py reads windows), best window. raw: the encoder's input
embedding table, not distilled. encoder: the full encoder, mean-pooled (slow: hours on this
machine for the whole corpus, so `encoder` reads each item's first 254 tokens only).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.optimize

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import minilm  # noqa: E402
import run  # noqa: E402
import train  # noqa: E402

from ostiary.detection import learned  # noqa: E402

L2 = 1e-3


def fit(x: np.ndarray, y: np.ndarray, sw: np.ndarray) -> tuple[np.ndarray, float]:
    """Weighted, L2-regularised logistic regression on dense features (L-BFGS)."""

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        z = x @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        ll = -(sw * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))).sum() + 0.5 * L2 * w @ w
        g = (p - y) * sw
        return float(ll), np.concatenate([x.T @ g + L2 * w, [g.sum()]])

    theta = scipy.optimize.minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B",
                                    options={"maxiter": 300}).x  # fmt: skip
    return theta[:-1], float(theta[-1])


class Embedded:
    """run.Evaluation over dense window embeddings."""

    def __init__(self, kind: str, items: list[dict[str, Any]], mode: str) -> None:
        self.kind, self.items = kind, items
        self.labels = np.array([it["label"] == "malicious" for it in items], dtype=np.float64)
        self.groups = np.array([train.origin(it) for it in items])
        self.rules = train.rule_verdicts(kind, items)
        texts = [train.text_of(kind, it) for it in items]
        enc = minilm.Encoder()
        if mode == "encoder":

            def embed(text: str) -> np.ndarray:
                return enc.embed_windows(" ".join(text.split()[:200]))[0]

            seg = [embed(t) for t in texts]
            self.seg_x, self.seg_item = np.array(seg), np.arange(len(items))
            self.win_x, self.win_item = self.seg_x, self.seg_item
        else:
            cache = HERE.parent / ".cache" / f"minilm_{mode}.npy"
            if mode == "raw":
                table = np.asarray(enc.t["embeddings.word_embeddings.weight"])
            elif cache.is_file():
                table = np.load(cache)
            else:
                table = enc.distil()
                np.save(cache, table)

            def embed(text: str) -> np.ndarray:
                ids = enc.tok.ids(text)
                v = table[ids].mean(0) if ids else np.zeros(table.shape[1], dtype=np.float32)
                return v / max(float(np.linalg.norm(v)), 1e-6)

            seg, seg_item, win, win_item = [], [], [], []
            for i, it in enumerate(items):
                for s in train.segments(kind, it):
                    seg.append(embed(s))
                    seg_item.append(i)
                for s, e in learned.windows(len(texts[i])):
                    win.append(embed(texts[i][s:e]))
                    win_item.append(i)
            self.seg_x, self.seg_item = np.array(seg), np.array(seg_item)
            self.win_x, self.win_item = np.array(win), np.array(win_item)
        self._cache: dict[int, tuple[np.ndarray, dict[str, float]]] = {}

    def _probs(self, rows: np.ndarray) -> np.ndarray:
        chosen = np.flatnonzero(np.isin(self.seg_item, rows))
        y = self.labels[self.seg_item[chosen]]
        sw = train._balance(y, self.groups[self.seg_item[chosen]])
        w, b = fit(self.seg_x[chosen], y, sw * len(y))
        logits = np.full(len(self.items), -np.inf)
        np.maximum.at(logits, self.win_item, self.win_x @ w + b)
        return 1.0 / (1.0 + np.exp(-logits))

    def _model(self, rows: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        key = hash(rows.tobytes())
        if key not in self._cache:
            benign: list[float] = []
            for fold in train.grouped_folds(list(self.groups[rows])):
                tr = np.array([i for i in rows if self.groups[i] not in fold])
                test = [i for i in rows if self.groups[i] in fold and self.labels[i] == 0]
                if len(tr) == 0 or not test or self.labels[tr].min() == self.labels[tr].max():
                    continue
                p = self._probs(tr)
                benign += [float(p[i]) for i in test if not self.rules[i]]
            n_benign = int(sum(self.labels[rows] == 0))
            rule_fp = int(sum(1 for i in rows if self.labels[i] == 0 and self.rules[i]))
            cuts = {}
            for name, target in train.TARGETS.items():
                budget = max(target * n_benign - rule_fp, 0.0) / max(len(benign), 1)
                cuts[name] = train.threshold_at(benign, budget)
            self._cache[key] = (self._probs(rows), cuts)
        return self._cache[key]

    def fit(self, rows: np.ndarray, point: str) -> run.Verdict:
        probs, cuts = self._model(rows)
        return lambda r: bool(self.rules[r]) or bool(probs[r] >= cuts[point])

    def shipped(self, point: str) -> run.Verdict:
        raise NotImplementedError


def sample(items: list[dict[str, Any]], every: int) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault((train.origin(item), str(item["label"])), []).append(item)
    out = []
    for key in sorted(groups):
        ordered = sorted(groups[key], key=lambda i: hashlib.sha256(str(i["id"]).encode()).hexdigest())
        out += ordered[::every]
    return out


def main() -> None:
    kind, mode = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "static"
    every = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    start = time.time()
    items = sample(train.load(kind), every)
    evaluation: Any = run.RulesAndModel(kind, items) if mode == "hashed" else Embedded(kind, items, mode)
    print(f"features: {time.time() - start:.0f} s", flush=True)
    report = {}
    for point in run.POINTS:
        rows = run.loso(evaluation, point)
        print(
            run.table(f"{kind}: leave-one-source-out, rules + {mode} MiniLM model at {point}", rows),
            flush=True,
        )
        report[point] = [r.__dict__ for r in rows]
    print(f"total: {time.time() - start:.0f} s", flush=True)
    out = HERE.parent / ".cache" / f"loso_{kind}_{mode}_{every}.json"
    out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
