"""The learned tier: a linear model over hashed character n-grams, scored with numpy.

Rules name phrases; attacks paraphrase, misspell and hide in ordinary prose. A logistic model
over character 3- to 5-grams reads style and wording the rules do not list, yet stays small (a
weight vector shipped inside the wheel), deterministic and fast enough for the message path: a
text is hashed position by position with vector arithmetic, so a 1 MB result costs a few passes
over an integer array, not a Python loop.

Long text is read in overlapping windows and the score is the best window's, so an instruction
buried in a large benign document is not diluted by it; the window is the finding's span. The
model file carries its operating points (thresholds at a target false-positive rate measured on
held-out sources), so `threshold: fpr1` or `fpr2` in the configuration means what the published
evaluation measured.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ostiary.detection.modelfile import MODELS, ModelError, ModelFile, Score, read, shipped, threshold

__all__ = [
    "MODELS",
    "LinearModel",
    "ModelError",
    "Score",
    "codes",
    "grams",
    "shipped",
    "vectorize",
    "windows",
]
NGRAMS = (3, 4, 5)
# Texts up to WINDOW characters are scored whole; longer ones in windows STRIDE apart. A window
# is about a paragraph: an injected instruction is most of one, never diluted by a whole page.
WINDOW = 512
STRIDE = 256
WHOLE = WINDOW

_MULT = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_INV = np.uint64(pow(0x100000001B3, -1, 2**64))
_WHITESPACE = np.array([9, 10, 11, 12, 13, 0xA0, 0x2028, 0x2029], dtype=np.uint64)

Array = npt.NDArray[Any]


def codes(text: str) -> Array:
    """Code points, lower-cased, every digit as 0 and every space-like character as a space."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lower-case to two; keep offsets exact
        lowered = text
    out = np.frombuffer(lowered.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    out[(out >= 48) & (out <= 57)] = 48
    out[np.isin(out, _WHITESPACE)] = 32
    return out


def _mix(h: Array, mask: np.uint64) -> Array:
    h = h ^ (h >> np.uint64(33))
    h = h * _MIX1
    h = h ^ (h >> np.uint64(29))
    h = h * _MIX2
    h = h ^ (h >> np.uint64(32))
    return (h & mask).astype(np.int64)


def grams(points: Array, dim: int, seed: int) -> list[tuple[Array, Array]]:
    """(start positions, hashed buckets) of every character 3-, 4- and 5-gram, every word and
    every pair of adjacent words of `points`; all vector arithmetic, wrapping modulo 2**64."""
    out: list[tuple[Array, Array]] = []
    mask = np.uint64(dim - 1)
    size = len(points)
    with np.errstate(over="ignore"):
        for n in NGRAMS:
            if size < n:
                continue
            h = np.full(size - n + 1, np.uint64(seed * 1_000_003 + n), dtype=np.uint64)
            for k in range(n):
                h = h * _MULT + points[k : size - n + 1 + k]
            out.append((np.arange(size - n + 1), _mix(h, mask)))
        # Words: runs of letters or digits (anything beyond Latin-1 punctuation counts as a letter).
        word = ((points >= 97) & (points <= 122)) | (points == 48) | (points >= 0xC0)
        edges = np.diff(np.concatenate(([0], word.astype(np.int8), [0])))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        if len(starts):
            # Polynomial hash of each word from prefix sums: sum c_j M^-j, times M^(end-1).
            ones = np.ones(size, dtype=np.uint64)
            up = np.cumprod(np.concatenate(([np.uint64(1)], ones[:-1] * _MULT)))
            down = np.cumprod(np.concatenate(([np.uint64(1)], ones[:-1] * _INV)))
            prefix = np.concatenate(([np.uint64(0)], np.cumsum(points * down)))
            words = (prefix[ends] - prefix[starts]) * up[ends - 1] + np.uint64(seed * 7 + 1)
            out.append((starts, _mix(words, mask)))
            if len(words) > 1:
                pairs = words[:-1] * _MULT * _MULT + words[1:] + np.uint64(seed * 7 + 2)
                out.append((starts[:-1], _mix(pairs, mask)))
    return out


def vectorize(text: str, dim: int, seed: int) -> tuple[Array, Array]:
    """Sparse features of a whole text: bucket indices and counts scaled by 1/sqrt(total)."""
    found = [idx for _, idx in grams(codes(text), dim, seed)]
    flat = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    if len(flat) == 0:
        return flat, np.zeros(0, dtype=np.float32)
    idx, counts = np.unique(flat, return_counts=True)
    return idx, (counts / math.sqrt(len(flat))).astype(np.float32)


def windows(length: int) -> list[tuple[int, int]]:
    """The (start, end) spans `LinearModel.score` reads in a text of `length` characters."""
    if length <= WHOLE:
        return [(0, length)]
    starts = sorted({min(s, length - WINDOW) for s in range(0, length - WINDOW + STRIDE, STRIDE)})
    return [(s, s + WINDOW) for s in starts]


@dataclass(frozen=True, slots=True)
class LinearModel:
    kind: str
    weights: Array
    bias: float
    seed: int
    # Named operating points: "fpr1" -> probability threshold measured at 1% false positives.
    thresholds: dict[str, float]

    @property
    def dim(self) -> int:
        return len(self.weights)

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        return cls.of_file(read(path))

    @classmethod
    def of_file(cls, file: ModelFile) -> LinearModel:
        """The model over a checked file's weights (its bytes, not a copy, when they are float32)."""
        weights = np.asarray(np.frombuffer(file.weights, dtype=file.dtype), dtype=np.float32)
        return cls(file.kind, weights, file.bias, file.seed, file.thresholds)

    def save(self, path: Path, extra: dict[str, Any] | None = None) -> None:
        meta = {"format": 1, "kind": self.kind, "bias": self.bias, "seed": self.seed,
                "thresholds": self.thresholds, "ngrams": list(NGRAMS), **(extra or {})}  # fmt: skip
        np.savez_compressed(
            path, weights=self.weights.astype(np.float16).astype(np.float32), meta=json.dumps(meta)
        )

    def threshold(self, spec: str | float) -> float:
        """A probability threshold from a number or a named operating point of this model."""
        return threshold(self.thresholds, spec)

    def score(self, text: str) -> Score:
        """The best window's probability and its span in characters of `text`."""
        points = codes(text)
        if len(points) < NGRAMS[0]:
            return Score(_sigmoid(self.bias), 0, len(text))
        found = grams(points, self.dim, self.seed)
        if len(points) <= WHOLE:
            total = sum(len(g) for _, g in found)
            s = sum(float(self.weights[g].sum()) for _, g in found)
            return Score(_sigmoid(self.bias + s / math.sqrt(max(total, 1))), 0, len(text))
        # Per-position contribution of every feature that starts there, then window sums.
        size = len(points) + 1
        contrib = np.zeros(size, dtype=np.float64)
        counts = np.zeros(size, dtype=np.float64)
        for pos, g in found:
            contrib += np.bincount(pos + 1, weights=self.weights[g], minlength=size)
            counts += np.bincount(pos + 1, minlength=size)
        csum, ccount = np.cumsum(contrib), np.cumsum(counts)
        starts = np.arange(0, len(points) - WINDOW + STRIDE, STRIDE)
        starts = np.minimum(starts, len(points) - WINDOW)
        ends = starts + WINDOW
        sums = csum[ends] - csum[starts]
        n = np.maximum(ccount[ends] - ccount[starts], 1.0)
        logits = self.bias + sums / np.sqrt(n)
        best = int(np.argmax(logits))
        return Score(_sigmoid(float(logits[best])), int(starts[best]), int(ends[best]))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 60.0), -60.0)))
