"""The learned tier's model file, read and checked without numpy; the model built on first use.

A model file (`detection/models/<kind>.npz`) is a zip of two `.npy` arrays: `weights`, one float
per hashed feature, and `meta`, a JSON text with the model's bias, seed and operating points.
`read` checks all of it at start-up (the zip's checksums, both arrays' headers, the weights'
size, the meta's fields), so a file that cannot be read is still a start-up error; it keeps the
weights' bytes. numpy (about 16 MB resident) and the array over those bytes come with the first
text the model scores (`LazyModel`), so a gateway whose traffic never reaches the learned tier
never loads them, and a gateway with `detectors.model: off` never does.
"""

from __future__ import annotations

import ast
import json
import threading
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ostiary.detection.learned import Array, LinearModel

MODELS = Path(__file__).parent / "models"
_MAGIC = b"\x93NUMPY"
# Little-endian floats a weights array may be stored as (save() writes float32).
_FLOATS = {"<f2": 2, "<f4": 4, "<f8": 8}


class ModelError(ValueError):
    """The model file is missing or not a model this version can read; raised at start-up."""


@dataclass(frozen=True, slots=True)
class Score:
    probability: float
    start: int
    end: int


class Scorer(Protocol):
    """What a detector asks of the learned tier: the best window's probability and its span."""

    def tools(self, names: Iterable[str]) -> Array | None:
        """The session's tool names as `score` takes them (None: the model does not read them)."""
        ...

    def score(self, text: str, tools: Array | None = None) -> Score: ...


@dataclass(frozen=True, slots=True)
class ModelFile:
    """A checked model file: its meta, and its weights as the bytes of a little-endian array."""

    kind: str
    bias: float
    seed: int
    # Named operating points: "fpr1" -> probability threshold measured at 1% false positives.
    thresholds: dict[str, float]
    dtype: str
    dim: int
    weights: memoryview
    # How many times the model counts each context feature (0: n-grams only, format 1).
    context: int = 0


def shipped(kind: str) -> Path:
    """Where the model for `kind` (injection, poisoning) ships inside the package."""
    return MODELS / f"{kind}.npz"


def _array(raw: bytes) -> tuple[str, tuple[int, ...], memoryview]:
    """The dtype, shape and data of one `.npy` file (format 1.0 to 3.0, C order)."""
    if raw[:6] != _MAGIC or len(raw) < 10:
        raise ValueError("not an .npy array")
    major = raw[6]
    if major not in (1, 2, 3):
        raise ValueError(f"unknown .npy version {major}")
    size, start = (
        (int.from_bytes(raw[8:10], "little"), 10) if major == 1 else (int.from_bytes(raw[8:12], "little"), 12)
    )
    header = ast.literal_eval(raw[start : start + size].decode("utf-8" if major == 3 else "latin-1"))
    if not isinstance(header, dict) or not isinstance(header.get("descr"), str):
        raise ValueError("not a plain array")
    shape = header.get("shape")
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError("bad shape")
    if header.get("fortran_order") and len(shape) > 1:
        raise ValueError("Fortran order")
    return header["descr"], shape, memoryview(raw)[start + size :]


def read(path: Path) -> ModelFile:
    """The model file at `path`, checked whole; ModelError if it is not one this version reads."""
    if "://" in str(path) or not path.is_file():
        raise ModelError(f"model must be an existing local file: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            weights_raw = archive.read("weights.npy")  # checks the entry's CRC
            meta_raw = archive.read("meta.npy")
        dtype, shape, data = _array(weights_raw)
        meta_dtype, meta_shape, meta_data = _array(meta_raw)
        if dtype not in _FLOATS or len(shape) != 1 or len(data) != shape[0] * _FLOATS[dtype]:
            raise ValueError("weights: not a vector of little-endian floats")
        if not meta_dtype.startswith("<U") or meta_shape != () or len(meta_data) % 4:
            raise ValueError("meta: not a text")
        meta = json.loads(bytes(meta_data).decode("utf-32-le").rstrip("\x00"))
        if not isinstance(meta, dict):
            raise ValueError("meta: not a mapping")
        dim = shape[0]
        if dim < 2 or dim & (dim - 1) or meta.get("format") not in (1, 2):
            raise ModelError(f"unsupported model file: {path}")
        return ModelFile(
            str(meta["kind"]),
            float(meta["bias"]),
            int(meta["seed"]),
            {str(k): float(v) for k, v in meta["thresholds"].items()},
            dtype,
            dim,
            data,
            int(meta.get("context", 0)),
        )
    except ModelError:
        raise
    except (OSError, KeyError, ValueError, TypeError, AttributeError, SyntaxError, EOFError,
            zipfile.BadZipFile, zlib.error) as exc:  # fmt: skip
        raise ModelError(f"not a readable model file: {path}: {exc}") from exc


def threshold(thresholds: dict[str, float], spec: str | float) -> float:
    """A probability threshold from a number or a named operating point of a model."""
    if isinstance(spec, str):
        if spec not in thresholds:
            raise ModelError(f"unknown operating point {spec!r} (known: {', '.join(sorted(thresholds))})")
        return thresholds[spec]
    return float(spec)


class LazyModel:
    """A checked model file whose `LinearModel` (and numpy) is built by the first `score`."""

    def __init__(self, file: ModelFile) -> None:
        self.file = file
        self.kind = file.kind
        self.thresholds = file.thresholds
        self._model: LinearModel | None = None
        self._lock = threading.Lock()  # the thread pool and the event loop may both score first

    def threshold(self, spec: str | float) -> float:
        return threshold(self.thresholds, spec)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def model(self) -> LinearModel:
        model = self._model
        if model is None:
            with self._lock:
                if self._model is None:
                    from ostiary.detection.learned import LinearModel  # noqa: PLC0415  (numpy)

                    self._model = LinearModel.of_file(self.file)
                model = self._model
        return model

    def tools(self, names: Iterable[str]) -> Array | None:
        return self.model().tools(names) if self.file.context else None

    def score(self, text: str, tools: Array | None = None) -> Score:
        return self.model().score(text, tools)
