"""Static API keys for small deployments and service accounts, stored only as hashes.

A key is `ostk_<id>_<secret>` with 256 random bits of secret, so a plain SHA-256 of it is as good
as a slow hash (there is nothing to guess) and the id finds the record without trying every hash.
Comparison is constant-time. `ostiary keys create ID` mints one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys

from ostiary.auth.settings import ApiKey

PREFIX = "ostk_"
_UNKNOWN = "sha256:" + "0" * 64


def hash_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def mint(key_id: str) -> tuple[str, str]:
    """A new key and the hash to put in the configuration. Show the key once; store the hash."""
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    return key, hash_key(key)


def looks_like_key(token: str) -> bool:
    return token.startswith(PREFIX)


class ApiKeyVerifier:
    def __init__(self, keys: list[ApiKey]) -> None:
        self._by_id = {key.id: key for key in keys}

    def verify(self, presented: str) -> ApiKey | None:
        key_id, _, secret = presented.removeprefix(PREFIX).partition("_")
        record = self._by_id.get(key_id) if secret else None
        expected = record.hash if record is not None else _UNKNOWN
        matches = hmac.compare_digest(hash_key(presented), expected)
        return record if matches and record is not None else None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m ostiary.auth.apikeys KEY_ID", file=sys.stderr)
        return 2
    key, digest = mint(argv[0])
    print(f"key (give it to the client, it is not stored): {key}")
    print(f"config:  api_keys: [{{id: {argv[0]}, hash: '{digest}', subject: ..., groups: [...]}}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
