"""What of a message's arguments may be kept in the audit log: a bounded, secret-free copy.

Values under credential-like keys are masked, strings are passed through the resolved-secret
redactor and masked where they look like a credential (bearer tokens, cloud and forge keys,
JWTs, private keys, passwords in URLs), and size is bounded. The full arguments are committed to
only by their digest. This is deliberately independent of the detectors in `ostiary.detection`:
the audit log must never depend on a detector being configured.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ostiary.secretref import REDACTED, REDACTOR

SENSITIVE_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[-_]?key|auth(orization)?|cookie|credential|"
    r"private[-_]?key|access[-_]?key|session[-_]?key|bearer|signature",
    re.IGNORECASE,
)
CREDENTIAL = re.compile(
    r"\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"
    r"|\bgithub_pat_[A-Za-z0-9_]{30,}"
    r"|\bsk-[A-Za-z0-9_-]{20,}"
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"
    r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"
    r"|(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"
)
MAX_STRING = 512
MAX_ITEMS = 64
MAX_DEPTH = 8
LARGEST_INT = 2**63


# Every CREDENTIAL alternative contains one of these literals and is at least this long: a cheap
# pre-test that spares most strings of most records the full expression.
MARKER = re.compile(r"Bearer|Basic|AKIA|gh[pousr]_|github_pat_|sk-|xox|eyJ|-----BEGIN|://")
SHORTEST_CREDENTIAL = 8


@functools.lru_cache(maxsize=4096)
def sensitive_key(key: str) -> bool:
    """Whether values under this key are credentials; keys repeat, so the answer is cached."""
    return SENSITIVE_KEY.search(key) is not None


def redact_text(text: str) -> str:
    text = REDACTOR(text)
    if len(text) >= SHORTEST_CREDENTIAL and MARKER.search(text):
        text = CREDENTIAL.sub(REDACTED, text)
    if len(text) > MAX_STRING:
        return f"{text[:MAX_STRING]}…[{len(text)} chars]"
    return text


def redact(value: Any, depth: int = 0) -> Any:
    """A copy of `value` safe to store: no known or credential-shaped secret, bounded in size."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if -LARGEST_INT < value < LARGEST_INT else str(value)
    if depth >= MAX_DEPTH:
        return "[…]"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for i, (key, item) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                out["…"] = f"[{len(value) - MAX_ITEMS} more keys]"
                break
            name = REDACTOR(str(key))
            out[name] = REDACTED if sensitive_key(str(key)) else redact(item, depth + 1)
        return out
    if isinstance(value, list):
        kept = [redact(item, depth + 1) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            kept.append(f"[{len(value) - MAX_ITEMS} more items]")
        return kept
    return redact_text(str(value))
