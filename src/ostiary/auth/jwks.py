"""The issuer's signing keys, fetched over HTTP, cached, and refreshed when a new key id appears.

Rotation works without a restart: a token signed with a key id not yet seen triggers one fetch,
but never more often than `min_refresh` seconds, so a stream of forged key ids cannot turn the
gateway into a load generator against the identity provider. A failed fetch keeps the keys
already known.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx2
import jwt

log = logging.getLogger("ostiary.auth")
MAX_JWKS_BYTES = 512 * 1024
MAX_KEYS = 100


class JwksUnavailable(Exception):
    """No key could be obtained to check a token."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    key: jwt.PyJWK
    kty: str
    # The algorithm the issuer bound this key to, if it said; a token must then use exactly it.
    alg: str | None


class JwksCache:
    def __init__(self, url: str, max_age: float, min_refresh: float, timeout: float) -> None:
        self.url = url
        self.max_age = max_age
        self.min_refresh = min_refresh
        self.timeout = timeout
        self._keys: dict[str, SigningKey] = {}
        self._fetched = 0.0
        self._attempted = float("-inf")
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str | None) -> SigningKey | None:
        """The key for `kid` (or the only key, when the token names none); None if unknown."""
        if self._stale():
            await self._refresh(force=False)
        found = self._pick(kid)
        if found is None and time.monotonic() - self._attempted >= self.min_refresh:
            await self._refresh(force=True)
            found = self._pick(kid)
        return found

    def _stale(self) -> bool:
        return not self._keys or time.monotonic() - self._fetched > self.max_age

    def _pick(self, kid: str | None) -> SigningKey | None:
        if kid is not None:
            return self._keys.get(kid)
        return next(iter(self._keys.values())) if len(self._keys) == 1 else None

    async def _refresh(self, force: bool) -> None:
        async with self._lock:
            now = time.monotonic()
            # Another task may have fetched while this one waited for the lock.
            if not force and not self._stale():
                return
            if now - self._attempted < self.min_refresh and self._keys:
                return
            self._attempted = now
            try:
                keys = await self._fetch()
            except JwksUnavailable as exc:
                log.warning("signing keys not refreshed from %s: %s", self.url, exc)
                if not self._keys:
                    raise
                return
            self._keys = keys
            self._fetched = time.monotonic()

    async def _fetch(self) -> dict[str, SigningKey]:
        self.fetches += 1
        try:
            async with httpx2.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                response = await client.get(self.url, headers={"Accept": "application/json"})
        except httpx2.HTTPError as exc:
            raise JwksUnavailable(f"cannot fetch ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise JwksUnavailable(f"HTTP {response.status_code}")
        if len(response.content) > MAX_JWKS_BYTES:
            raise JwksUnavailable("key set too large")
        try:
            document: Any = response.json()
        except ValueError:
            raise JwksUnavailable("not JSON") from None
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise JwksUnavailable("no 'keys' list")
        keys: dict[str, SigningKey] = {}
        for entry in entries[:MAX_KEYS]:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            if entry.get("kty") == "oct":  # a shared secret has no place in a public key set
                continue
            try:
                key = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue
            alg = entry.get("alg")
            keys[str(entry.get("kid", ""))] = SigningKey(
                key, str(entry["kty"]), alg if isinstance(alg, str) else None
            )
        if not keys:
            raise JwksUnavailable("no usable signing keys")
        return keys
