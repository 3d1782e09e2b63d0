"""Redaction in place: secrets replaced inside strings, JSON structure left exactly as it was.

A marker names the rule, never the value, and contains no quote or backslash, so a redacted
string that itself held JSON (a text result carrying a serialised object) stays valid JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ostiary.detection.findings import Finding
from ostiary.detection.walker import KEY_SUFFIX, pointer


def marker(rule: str) -> str:
    return f"[REDACTED:{rule}]"


def redact_text(text: str, findings: Iterable[Finding]) -> str:
    """Replace each finding's span; overlapping spans are merged under the first rule."""
    spans = sorted((f.start, f.end, f.rule) for f in findings)
    if not spans:
        return text
    out: list[str] = []
    cursor = 0
    for start, end, rule in spans:
        if start < cursor:
            cursor = max(cursor, end)
            continue
        out.append(text[cursor:start])
        out.append(marker(rule))
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def redact_json(value: Any, findings: Iterable[Finding], root: str = "") -> Any:
    """A copy of `value` with every string at a finding's path redacted; the rest shared."""
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        if not finding.path.endswith(KEY_SUFFIX):
            by_path.setdefault(finding.path, []).append(finding)
    if not by_path:
        return value
    prefixes = {root}
    for found in by_path:
        step = found
        while step and step not in prefixes:
            prefixes.add(step)
            step = step.rsplit("/", 1)[0] if "/" in step else ""
    return _copy(value, root, by_path, prefixes)


def _copy(value: Any, path: str, by_path: dict[str, list[Finding]], prefixes: set[str]) -> Any:
    if path not in prefixes:
        return value
    if isinstance(value, str):
        return redact_text(value, by_path.get(path, ()))
    if isinstance(value, dict):
        return {k: _copy(v, pointer(path, k), by_path, prefixes) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v, pointer(path, i), by_path, prefixes) for i, v in enumerate(value)]
    return value
