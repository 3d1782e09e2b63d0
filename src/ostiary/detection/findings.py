"""What a detector reports: which rule fired, how bad it is, and where, never the matched text.

A finding's span is `[start, end)` in characters of the string at `path` as the peer sent it.
A finding made on decoded or normalised text points at the original segment it came from, and
says so in `layer`, so a redaction or a reviewer always lands on the bytes that were on the wire.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def of_weight(cls, weight: float) -> Severity:
        if weight >= 0.85:
            return cls.CRITICAL
        if weight >= 0.6:
            return cls.HIGH
        if weight >= 0.35:
            return cls.MEDIUM
        return cls.LOW


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    rule: str
    severity: Severity
    path: str
    start: int
    end: int
    # How much this rule alone says the content is hostile, in [0, 1].
    weight: float = 1.0
    # "raw" (as sent), "normalized" (after Unicode folding) or "decoded" (inside an encoded segment).
    layer: str = "raw"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rule": self.rule,
            "severity": self.severity.name.lower(),
            "path": self.path,
            "span": [self.start, self.end],
            "layer": self.layer,
        }


@dataclass(slots=True)
class Report:
    """All findings of one detector over one input, with a score in [0, 1] and the verdict."""

    findings: list[Finding] = field(default_factory=list)
    score: float = 0.0
    flagged: bool = False
    # True when the input was larger than the scan budget and only a prefix was inspected.
    truncated: bool = False

    @property
    def rules(self) -> list[str]:
        return sorted({f.rule for f in self.findings})

    def explain(self) -> str:
        """A payload-free sentence for reasons and reviewers: which rules, how strongly."""
        if not self.findings:
            return "no findings"
        return f"score {self.score:.2f} from rules: {', '.join(self.rules)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "score": round(self.score, 4),
            "findings": [f.to_dict() for f in self.findings],
        }


def combine(weights: list[float]) -> float:
    """Noisy-OR of independent signals: two weak hints add up, one strong rule suffices."""
    miss = 1.0
    for w in weights:
        miss *= 1.0 - min(max(w, 0.0), 1.0)
    return 1.0 - miss


def score_findings(findings: list[Finding]) -> float:
    """Each rule counts once, at its strongest, so one repeated phrase cannot inflate a score."""
    best: dict[str, float] = {}
    for f in findings:
        if f.weight > best.get(f.rule, 0.0):
            best[f.rule] = f.weight
    return combine(list(best.values()))
