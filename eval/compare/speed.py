"""Speed of the learned-tier options on the benchmark's inputs (CPU time, one thread, p50):
the hashed linear model (n-grams, and n-grams + context), a static table distilled from
all-MiniLM-L6-v2 (tokenise, look up, mean per window, one dot product) and the full encoder.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python eval/compare/speed.py            # every option
    OPENBLAS_NUM_THREADS=1 .venv/bin/python eval/compare/speed.py --hashed   # the linear ones,
                                                                             # alternately, twice

The full encoder's 1 MB figure is its 64 KB time times 16 (its cost is linear in tokens).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "benchmarks"))

import bench_detectors as bench  # noqa: E402
import minilm  # noqa: E402

from ostiary.detection import learned  # noqa: E402


def p50(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def static_score(tok: minilm.Tokenizer, table: np.ndarray, w: np.ndarray, text: str) -> float:
    """Static-embedding model: per 512-character window, mean of token vectors, dot w; best."""
    best = -1e9
    for s, e in learned.windows(len(text)):
        ids = tok.ids(text[s:e])
        if ids:
            best = max(best, float(table[ids].mean(0) @ w))
    return best


def main() -> None:
    rng = random.Random(7)
    prose_4k = (bench.UNCLEARED * 40)[: 4 * bench.KB]
    mixed_1m = bench.mixed_text(bench.MB, rng)
    mixed_64k = mixed_1m[: 64 * bench.KB]
    weights = np.random.default_rng(0).normal(size=1 << 18).astype(np.float32)
    hashed = [
        (
            f"hashed n-grams{f' + context x{k}' if k else ''}",
            learned.LinearModel("injection", weights, 0.0, 13, {}, k),
        )
        for k in (0, 1, 4)
    ]
    if "--hashed" in sys.argv:
        print("| option | round | 4 KB prose p50 ms | 1 MB mixed p50 ms |")
        print("|---|---:|---:|---:|")
        for round_ in (1, 2):
            for name, model in hashed:
                small = p50(lambda m=model: m.score(prose_4k), 41)  # type: ignore[misc]
                large = p50(lambda m=model: m.score(mixed_1m), 5)  # type: ignore[misc]
                print(f"| {name} | {round_} | {small:.2f} | {large:.0f} |", flush=True)
        return
    ngrams, context = hashed[0][1], hashed[1][1]
    enc = minilm.Encoder()
    table = np.asarray(
        enc.t["embeddings.word_embeddings.weight"], dtype=np.float32
    )  # same shape as distilled
    w = np.random.default_rng(1).normal(size=384).astype(np.float32)
    print("| option | 4 KB prose p50 ms | 1 MB mixed p50 ms |")
    print("|---|---:|---:|")
    for name, fn in (
        ("hashed n-grams", ngrams.score),
        ("hashed n-grams + context", context.score),
        ("static MiniLM table + logistic", lambda t: static_score(enc.tok, table, w, t)),
    ):
        enc.tok.piece.cache_clear()
        small = p50(lambda f=fn: f(prose_4k), 21)  # type: ignore[misc]
        large = p50(lambda f=fn: f(mixed_1m), 3)  # type: ignore[misc]
        print(f"| {name} | {small:.2f} | {large:.0f} |")
    small = p50(lambda: enc.embed_windows(prose_4k), 5)
    large = p50(lambda: enc.embed_windows(mixed_64k), 1) * 16
    print(f"| all-MiniLM-L6-v2 encoder (numpy, 1 thread) | {small:.1f} | {large:.0f} (64 KB x 16) |")


if __name__ == "__main__":
    main()
