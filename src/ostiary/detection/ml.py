"""Optional classifier backend for prompt injection: a local ONNX model run over byte windows.

The rule engine stands on its own; a classifier adds recall on paraphrased injections the rules
miss. The model is a file the operator provides: Ostiary never downloads one, and refuses
anything that is not an existing local file. ONNX Runtime is an optional dependency
(`pip install ostiary[ml]`), imported only when a model is configured.

Model contract: one int64 input of shape [batch, window] holding the UTF-8 bytes of a window of
text (0 pads a short window); one output of shape [batch] or [batch, 1] with the probability that
the window is an injection, or [batch, 2] logits (benign, injection). Long text is read in
overlapping windows, at most `max_windows` of them spread over the whole text; the score is the
highest window's.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ostiary.detection.findings import Finding, Severity

RULE = "injection.classifier"


@dataclass(frozen=True, slots=True)
class ClassifierOptions:
    model: Path
    window: int = 512
    stride: int = 384
    max_windows: int = 64
    # A window at or above this probability becomes a finding with that weight.
    min_probability: float = 0.5


class ClassifierError(ValueError):
    """The configured model cannot be used; raised at start-up, never per message."""


class OnnxClassifier:
    def __init__(self, options: ClassifierOptions) -> None:
        text = str(options.model)
        if "://" in text or not options.model.is_file():
            raise ClassifierError(f"classifier model must be an existing local file: {text}")
        if options.window < 16 or not 0 < options.stride <= options.window or options.max_windows < 1:
            raise ClassifierError("classifier window, stride and max_windows are out of range")
        try:
            self._np: Any = importlib.import_module("numpy")
            ort: Any = importlib.import_module("onnxruntime")
        except ImportError as exc:
            raise ClassifierError("the classifier needs ONNX Runtime: pip install 'ostiary[ml]'") from exc
        session_options = ort.SessionOptions()
        session_options.intra_op_num_threads = 1
        session_options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(text, session_options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.options = options

    def windows(self, data: bytes) -> list[int]:
        """Start offsets of the windows to read: overlapping, evenly spread when capped."""
        window, stride = self.options.window, self.options.stride
        starts = list(range(0, max(len(data) - window, 0) + 1, stride))
        if starts[-1] + window < len(data):
            starts.append(len(data) - window)
        if len(starts) > self.options.max_windows:
            step = len(starts) / self.options.max_windows
            starts = [starts[int(i * step)] for i in range(self.options.max_windows - 1)] + [starts[-1]]
        return starts

    def probabilities(self, text: str) -> list[tuple[int, int, float]]:
        """(start, end, probability) per window, offsets in characters of `text`."""
        data = text.encode("utf-8")
        if not data:
            return []
        np = self._np
        starts = self.windows(data)
        batch = np.zeros((len(starts), self.options.window), dtype=np.int64)
        for row, start in enumerate(starts):
            chunk = data[start : start + self.options.window]
            batch[row, : len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
        output = np.asarray(self._session.run(None, {self._input: batch})[0], dtype=np.float64)
        if output.ndim == 2 and output.shape[1] == 2:
            shifted = np.exp(output - output.max(axis=1, keepdims=True))
            probs = shifted[:, 1] / shifted.sum(axis=1)
        else:
            probs = np.clip(output.reshape(len(starts)), 0.0, 1.0)
        spans = []
        for start, prob in zip(starts, probs.tolist(), strict=True):
            end = min(start + self.options.window, len(data))
            spans.append((_chars(data, start), _chars(data, end), float(prob)))
        return spans

    def findings(self, text: str, path: str = "") -> list[Finding]:
        best = max(self.probabilities(text), key=lambda s: s[2], default=None)
        if best is None or best[2] < self.options.min_probability:
            return []
        start, end, prob = best
        return [Finding("injection", RULE, Severity.of_weight(prob), path, start, end, prob, "raw")]


def _chars(data: bytes, offset: int) -> int:
    """A byte offset as a character offset (a cut inside a character counts what precedes it)."""
    return len(data[:offset].decode("utf-8", errors="ignore"))
