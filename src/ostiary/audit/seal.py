"""The audit log's keyed hash chain and signed checkpoints.

Each record's hash is HMAC-SHA256(key, canonical record), where the canonical record includes its
sequence number and its predecessor's hash. Keying the chain means that nobody without the key
can rewrite, insert or append a record that verifies; signed checkpoints (HMAC over the chain
head) additionally pin the length, so cutting the tail beyond the last checkpoint is detected.
The key comes from `audit.checkpoint_key` (a secret reference) or a generated key file.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ostiary import secretref
from ostiary.audit.canonical import canonical
from ostiary.config import Config, ConfigError
from ostiary.store import Checkpoint

log = logging.getLogger("ostiary.audit")
KEY_FILE = "audit-chain.key"


class AuditKeyError(ConfigError):
    """The chain key cannot be obtained; the audit log (and so the gateway) cannot start."""


def key_id_of(key: bytes) -> str:
    return hashlib.sha256(b"ostiary-audit-key:" + key).hexdigest()[:16]


def _default_key_path() -> Path:
    from platformdirs import user_data_dir  # noqa: PLC0415  (only needed without a configured key)

    return Path(user_data_dir("ostiary", appauthor=False)) / KEY_FILE


def load_key(config: Config, create: bool = True) -> bytes:
    """The chain key: the configured secret reference, else the key file (created 0600 if asked)."""
    options = config.audit
    reference = options.checkpoint_key
    if reference:
        try:
            value = secretref.resolve(str(reference))
        except secretref.SecretError as exc:
            raise AuditKeyError(f"audit.checkpoint_key: {exc}") from None
        if len(value) < 16:
            raise AuditKeyError("audit.checkpoint_key: the key must be at least 16 characters")
        return value.encode()
    path = Path(str(options.key_file or _default_key_path())).expanduser()
    if not path.is_absolute():
        path = Path(config.base_dir) / path
    if not path.exists():
        if not create:
            raise AuditKeyError(f"no audit key: {path} does not exist and audit.checkpoint_key is not set")
        if create_key_file(path):
            log.warning(
                "audit: no audit.checkpoint_key configured; generated a chain key in %s (mode 0600). "
                "Gateways sharing one store must share one key: set audit.checkpoint_key.",
                path,
            )
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < 16:
        raise AuditKeyError(f"the audit key file {path} holds no usable key")
    secretref.REDACTOR.add(value)
    return value.encode()


def create_key_file(path: Path) -> bool:
    """Write a new random key to `path` unless one appears meanwhile; True if this call made it.

    The key is written to a private temporary file and linked into place, so a gateway starting
    at the same moment either sees no file or a complete one, never half a key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
    return True


HMAC_BLOCK = 64  # SHA-256's block size, in bytes


@dataclass(frozen=True, slots=True)
class HmacSealer:
    key: bytes
    every_records: int = 1000
    every_seconds: float = 60.0
    # SHA-256 states with the key's inner and outer pads already absorbed (RFC 2104): each MAC
    # copies them rather than setting up an HMAC in OpenSSL, which costs more than hashing a
    # record. A test checks the result against the standard library's hmac.
    _inner: Any = field(init=False, repr=False, compare=False)
    _outer: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = hashlib.sha256(self.key).digest() if len(self.key) > HMAC_BLOCK else self.key
        key = key.ljust(HMAC_BLOCK, b"\0")
        object.__setattr__(self, "_inner", hashlib.sha256(bytes(b ^ 0x36 for b in key)))
        object.__setattr__(self, "_outer", hashlib.sha256(bytes(b ^ 0x5C for b in key)))

    @property
    def key_id(self) -> str:
        return key_id_of(self.key)

    def mac(self, data: bytes) -> str:
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return str(outer.hexdigest())

    def seal(self, seq: int, prev: str, body: dict[str, Any]) -> tuple[str, str]:
        text = canonical({**body, "seq": seq, "prev": prev})
        return text.decode(), self.mac(text)

    def _checkpoint_fields(self, chain: str, kind: str, seq: int, hash: str, ts_us: int) -> bytes:
        fields = {
            "chain": chain,
            "kind": kind,
            "seq": seq,
            "hash": hash,
            "ts_us": ts_us,
            "key_id": self.key_id,
        }
        return canonical(fields)

    def checkpoint(self, chain: str, kind: str, seq: int, hash: str, ts_us: int) -> Checkpoint:
        signature = self.mac(self._checkpoint_fields(chain, kind, seq, hash, ts_us))
        return Checkpoint(chain, kind, seq, hash, ts_us, self.key_id, signature)

    def signed(self, cp: Checkpoint) -> bool:
        expected = self.mac(self._checkpoint_fields(cp.chain, cp.kind, cp.seq, cp.hash, cp.ts_us))
        return cp.key_id == self.key_id and hmac.compare_digest(expected, cp.signature)

    def checkpoint_due(self, records_since: int, seconds_since: float) -> bool:
        return records_since >= self.every_records or (
            records_since > 0 and seconds_since >= self.every_seconds
        )


def sealer_from_config(config: Config, create_key: bool = True) -> HmacSealer:
    options = config.audit
    return HmacSealer(
        load_key(config, create_key),
        options.checkpoint_every,
        options.checkpoint_seconds,
    )
