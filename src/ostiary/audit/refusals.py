"""Audit records for requests `ostiary serve` turned away at authentication (401 and 403).

A refused caller never reaches the pipeline, so no decision would record it; yet who tried, from
where and why is what an operator looks for after an attack. The record names the caller only
by what it presented: a fingerprint of its credential (never the credential), its address and
its user agent, and the refusal's code and description (which never contain the credential).

A flood of bad tokens must not fill the store: records are rate-limited by a token bucket over
all callers, and the next record that passes says how many were left out before it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any, Protocol

from ostiary.audit.redaction import redact_text
from ostiary.store import now_us

log = logging.getLogger("ostiary.audit")

# At most BURST records at once, then one every 1/PER_SECOND seconds.
BURST = 20
PER_SECOND = 2.0
METHOD = "auth/refused"


class Appender(Protocol):
    async def append(self, body: dict[str, Any]) -> None: ...


def fingerprint(headers: dict[str, str]) -> str | None:
    """A short, one-way fingerprint of the presented credential, so repeated attempts with one
    token can be told apart from many tokens, without the token being recoverable."""
    credential = headers.get("authorization") or headers.get("x-api-key")
    if not credential:
        return None
    return hashlib.sha256(b"ostiary-refused:" + credential.encode("latin-1")).hexdigest()[:16]


class RefusalRecorder:
    """Writes one audit record per refused authentication, within the rate limit."""

    def __init__(self, audit: Appender, burst: int = BURST, per_second: float = PER_SECOND) -> None:
        self.audit = audit
        self.burst = burst
        self.per_second = per_second
        self._tokens = float(burst)
        self._at = time.monotonic()
        self.suppressed = 0

    def _take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    async def record(
        self,
        status: int,
        error: str,
        description: str,
        headers: dict[str, str],
        client: tuple[str, int] | None,
        path: str,
    ) -> None:
        """Record one refusal (or count it, beyond the rate); never raises: the caller is
        refused either way, and a store that fails is already failing every call."""
        if not self._take():
            self.suppressed += 1
            return
        body: dict[str, Any] = {
            "v": 1,
            "ts_us": now_us(),
            "hook": "on_client_request",
            "kind": "refusal",
            "method": METHOD,
            "principal": None,
            "server": None,
            "target": redact_text(path),
            "action": "deny",
            "code": f"auth.{error}",
            "inspection": "auth",
            "reason": redact_text(description),
            "status": status,
            "client_address": client[0] if client else None,
            "credential": fingerprint(headers),
            "user_agent": redact_text(headers.get("user-agent", ""))[:200] or None,
        }
        if self.suppressed:
            body["suppressed_before"] = self.suppressed
            self.suppressed = 0
        try:
            await self.audit.append(body)
        except Exception as exc:
            log.error("audit: a refused authentication could not be recorded (%s)", exc)
