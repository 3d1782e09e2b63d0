"""The canonical serialisation every digest, chain hash and signature in the audit log is over.

UTF-8 JSON with object keys sorted and no whitespace (orjson with OPT_SORT_KEYS). Values the
fast encoder refuses (integers beyond 64 bits) fall back to the standard library with the same
shape, so any JSON a peer sent can be digested.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson


def canonical(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        ).encode()


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()
