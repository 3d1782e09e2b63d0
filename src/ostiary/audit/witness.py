"""The audit witness: each sealed checkpoint, signed with Ed25519, written outside the database.

The chain's HMAC and checkpoints stop anyone without the key from altering or forging records,
but someone who can write the database can still delete: every table at once, or the tail
together with the checkpoints above it and the head rewound. What the database no longer holds
it cannot contradict. So each checkpoint the gateway commits (chain, sequence number, head hash,
time) is also written where the database cannot reach: an append-only file beside the store (by
default), the system log, or a webhook. `ostiary audit verify` then fails on any record, head or
checkpoint missing below the highest one the witness holds, and on an empty store that the
witness says held records.

Each entry is one JSON line signed with the gateway's Ed25519 key, so anyone holding only the
public key can check it, and nobody without the private key can write an entry that checks. The
private key lives in its own file (0600), never in the database; `audit.witness.public_key`
lets a verifier that has no private key check the file.

PyNaCl (libsodium) signs and checks, imported only when an entry is signed or checked, on a
worker thread: a checkpoint comes every thousand records or every minute, never on a message's
path. Once loaded it stays, so it is libsodium rather than `cryptography`, which would hold
several times its memory in a long-running gateway (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ostiary.audit.canonical import canonical
from ostiary.audit.seal import create_key_file
from ostiary.config import AuditConfig
from ostiary.store import Checkpoint, StoreError

if TYPE_CHECKING:
    from nacl.signing import SigningKey, VerifyKey

log = logging.getLogger("ostiary.audit")
KEY_FILE = "audit-witness.key"
SYSLOG_TAG = "ostiary-witness"
WEBHOOK_TIMEOUT = 10.0
TAIL_BYTES = 8192
VERSION = 1


class WitnessError(StoreError):
    """The witness cannot be written or read."""


# ---------------------------------------------------------------- keys


def _private_key(seed: bytes) -> SigningKey:
    from nacl.signing import SigningKey  # noqa: PLC0415

    return SigningKey(seed)


def public_key_of(seed: bytes) -> str:
    """The public key (base64url of its 32 bytes) that checks what `seed` signs."""
    return _b64(bytes(_private_key(seed).verify_key))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_seed(path: Path, create: bool) -> bytes:
    """The 32-byte Ed25519 private key in `path` (hex), created 0600 if missing and `create`."""
    if not path.exists():
        if not create:
            raise WitnessError(f"no witness key: {path} does not exist")
        if create_key_file(path):  # a gateway starting at the same moment keeps the first key
            log.warning("audit: generated the witness signing key %s (mode 0600)", path)
    try:
        seed = bytes.fromhex(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        raise WitnessError(f"the witness key file {path} holds no usable key") from None
    if len(seed) != 32:
        raise WitnessError(f"the witness key file {path} holds no usable key")
    return seed


# ---------------------------------------------------------------- entries


def _signed_part(entry: dict[str, Any]) -> bytes:
    return canonical({k: v for k, v in entry.items() if k != "sig"})


def entry_of(cp: Checkpoint, store: str, seed: bytes, public_key: str) -> bytes:
    """One signed witness line (with its newline) for checkpoint `cp` of the store `store`."""
    entry: dict[str, Any] = {
        "v": VERSION,
        "store": store,
        "chain": cp.chain,
        "kind": cp.kind,
        "seq": cp.seq,
        "hash": cp.hash,
        "ts_us": cp.ts_us,
        "key": public_key,
    }
    entry["sig"] = _b64(_private_key(seed).sign(_signed_part(entry)).signature)
    return orjson.dumps(entry) + b"\n"


@dataclass(frozen=True, slots=True)
class Witnessed:
    """A checkpoint the witness holds."""

    chain: str
    kind: str
    seq: int
    hash: str
    ts_us: int
    line: int


@dataclass(frozen=True, slots=True)
class WitnessReading:
    """What a witness file says, checked against one public key."""

    source: str
    public_key: str
    entries: list[Witnessed]
    problem: str | None = None

    def high_water(self, chain: str) -> Witnessed | None:
        """The highest periodic checkpoint witnessed for `chain`."""
        found = [e for e in self.entries if e.chain == chain and e.kind == "periodic"]
        return max(found, key=lambda e: (e.seq, e.ts_us)) if found else None


def read_witness(path: Path, public_key: str, store: str) -> WitnessReading:
    """Check every line of the witness file at `path` against `public_key`; keep the entries
    about `store` (a witness file may serve several databases).

    A last line without its newline is a write cut short by a crash and is left out; any other
    line that is not a well-formed entry signed by `public_key` is a problem (forged or altered),
    reported with its line number."""
    from nacl.signing import VerifyKey  # noqa: PLC0415

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WitnessError(f"the witness {path} cannot be read ({exc.strerror})") from None
    try:
        verifier = VerifyKey(_unb64(public_key))
    except ValueError:
        raise WitnessError("the witness public key is not a base64url Ed25519 key") from None
    entries: list[Witnessed] = []
    for number, line in enumerate(data.split(b"\n")[:-1], start=1):
        if not line.strip():
            continue
        try:
            entry = orjson.loads(line)
            if not isinstance(entry, dict) or entry.get("v") != VERSION:
                raise ValueError("not an entry")
            if entry.get("key") != public_key:
                problem = f"line {number} is signed by another key ({entry.get('key')})"
                return WitnessReading(str(path), public_key, entries, problem)
            if not _signed_by(verifier, _unb64(str(entry["sig"])), _signed_part(entry)):
                return WitnessReading(
                    str(path), public_key, entries, f"line {number}: its signature is invalid"
                )
            found = Witnessed(
                str(entry["chain"]), str(entry["kind"]), int(entry["seq"]), str(entry["hash"]),
                int(entry["ts_us"]), number,
            )  # fmt: skip
        except (ValueError, KeyError, TypeError):
            return WitnessReading(str(path), public_key, entries, f"line {number} is not a witness entry")
        if entry.get("store") == store:
            entries.append(found)
    return WitnessReading(str(path), public_key, entries)


def _signed_by(verifier: VerifyKey, signature: bytes, data: bytes) -> bool:
    """Whether `signature` over `data` checks; a signature of the wrong length does not."""
    from nacl.exceptions import BadSignatureError  # noqa: PLC0415

    try:
        verifier.verify(data, signature)
    except (BadSignatureError, ValueError):
        return False
    return True


# ---------------------------------------------------------------- sinks


class FileSink:
    """An append-only file (0600): opened with O_APPEND for each entry, never rewritten."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def last_seq(self, store: str, chain: str) -> int:
        """The sequence number of the last entry this file holds for `store` and `chain` (0: none),
        read from its tail without checking signatures: a gateway only uses it to skip writing
        a checkpoint the file already holds."""
        try:
            with self.path.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, size - TAIL_BYTES))
                tail = handle.read()
        except OSError:
            return 0
        for line in reversed(tail.split(b"\n")):
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(entry, dict) and entry.get("store") == store and entry.get("chain") == chain:
                seq = entry.get("seq")
                return seq if isinstance(seq, int) else 0
        return 0

    def write(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            if os.write(fd, line) != len(line):
                raise OSError("short write")
            os.fsync(fd)
        finally:
            os.close(fd)

    def __str__(self) -> str:
        return f"file {self.path}"


class SyslogSink:
    """The local system log (LOG_AUTHPRIV by default): out of reach of the store's owner when
    the log is shipped or kept by another user. Each message is the signed entry itself."""

    def __init__(self, facility: str) -> None:
        import syslog  # noqa: PLC0415

        found = getattr(syslog, f"LOG_{facility.upper()}", None)
        if not isinstance(found, int):
            raise WitnessError(f"audit.witness.syslog: unknown syslog facility {facility!r}")
        self.facility: int = found

    def write(self, line: bytes) -> None:
        import syslog  # noqa: PLC0415

        syslog.openlog(SYSLOG_TAG, 0, self.facility)
        syslog.syslog(syslog.LOG_NOTICE, line.decode().rstrip("\n"))

    def __str__(self) -> str:
        return "syslog"


class WebhookSink:
    """POSTs each entry (application/json) to a collector; any answer but 2xx is a failure."""

    def __init__(self, url: str) -> None:
        if not url.startswith(("https://", "http://")):
            raise WitnessError("audit.witness.webhook must be an http:// or https:// URL")
        self.url = url

    def write(self, line: bytes) -> None:
        import urllib.request  # noqa: PLC0415

        request = urllib.request.Request(  # noqa: S310  (the scheme is checked at start)
            self.url, data=line, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as answer:  # noqa: S310
            if not 200 <= answer.status < 300:
                raise OSError(f"HTTP {answer.status}")

    def __str__(self) -> str:
        return f"webhook {self.url}"


Sink = FileSink | SyslogSink | WebhookSink


class Witness:
    """Writes committed checkpoints to every sink, in order, on a worker thread."""

    def __init__(self, key_path: Path, sinks: list[Sink], store: str) -> None:
        self.key_path = key_path
        self.store = store
        self.sinks = sinks
        self._seed: bytes | None = None
        self._public: str | None = None
        self._lock = asyncio.Lock()
        self._last: dict[str, int] = {}

    def _entries(self, checkpoints: Iterable[Checkpoint]) -> list[bytes]:
        if self._seed is None:
            self._seed = load_seed(self.key_path, create=True)
            self._public = public_key_of(self._seed)
        assert self._public is not None
        return [entry_of(cp, self.store, self._seed, self._public) for cp in checkpoints]

    def _write_all(self, checkpoints: list[Checkpoint]) -> None:
        lines = self._entries(checkpoints)
        for sink in self.sinks:
            for line in lines:
                try:
                    sink.write(line)
                except OSError as exc:
                    raise WitnessError(f"the audit witness ({sink}) refused a checkpoint ({exc})") from exc

    async def record(self, checkpoints: list[Checkpoint]) -> None:
        """Witness `checkpoints` (already committed), skipping any not beyond the last witnessed
        one of its chain and kind."""
        fresh = []
        for chain in {cp.chain for cp in checkpoints} - set(self._last):
            files = [s for s in self.sinks if isinstance(s, FileSink)]
            if files and len(files) == len(self.sinks):  # only files: each says what it holds
                self._last[chain] = min(s.last_seq(self.store, chain) for s in files)
        for cp in sorted(checkpoints, key=lambda c: c.seq):
            if cp.kind == "periodic" and cp.seq <= self._last.get(cp.chain, 0):
                continue
            fresh.append(cp)
            if cp.kind == "periodic":
                self._last[cp.chain] = cp.seq
        if not fresh:
            return
        async with self._lock:
            await asyncio.to_thread(self._write_all, fresh)

    def describe(self) -> str:
        return ", ".join(str(s) for s in self.sinks)


@dataclass(slots=True)
class CapturingSealer:
    """A sealer that remembers the checkpoints it signs, so the audit log can witness those
    that were committed (a transaction rolled back and retried signs some twice, or not at all).
    Everything else is the wrapped sealer's."""

    inner: Any
    signed: list[Checkpoint]

    @property
    def key_id(self) -> str:
        return str(self.inner.key_id)

    def mac(self, data: bytes) -> str:
        return str(self.inner.mac(data))

    def seal(self, seq: int, prev: str, body: dict[str, Any]) -> tuple[str, str]:
        sealed: tuple[str, str] = self.inner.seal(seq, prev, body)
        return sealed

    def checkpoint(self, chain: str, kind: str, seq: int, hash: str, ts_us: int) -> Checkpoint:
        cp: Checkpoint = self.inner.checkpoint(chain, kind, seq, hash, ts_us)
        self.signed.append(cp)
        return cp

    def checkpoint_due(self, records_since: int, seconds_since: float) -> bool:
        return bool(self.inner.checkpoint_due(records_since, seconds_since))

    def take(self, hashes: dict[int, str]) -> list[Checkpoint]:
        """The checkpoints signed since the last call whose record (`hashes`: seq → hash of the
        rows just committed) was committed; the rest were rolled back."""
        taken = [cp for cp in self.signed if hashes.get(cp.seq) == cp.hash]
        self.signed.clear()
        latest: dict[tuple[str, int], Checkpoint] = {}
        for cp in taken:
            latest[(cp.chain, cp.seq)] = cp
        return list(latest.values())


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class WitnessSettings:
    """`audit.witness`, resolved: where entries go and which key signs and checks them."""

    file: Path | None
    syslog: str | None
    webhook: str | None
    key_file: Path
    public_key: str | None

    @property
    def enabled(self) -> bool:
        return self.file is not None or self.syslog is not None or self.webhook is not None


def store_identity(url: str) -> str:
    """What a witness entry names its store by: `sqlite` for a file (its witness lives beside
    it), else the URL's scheme, host, port and database (never its credentials)."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415  (loaded with the store already)

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return "sqlite"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.get_backend_name()}://{parsed.host or ''}{port}/{parsed.database or ''}"


def _data_dir() -> Path:
    from platformdirs import user_data_dir  # noqa: PLC0415

    return Path(user_data_dir("ostiary", appauthor=False))


def _path(value: object, base: str) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else Path(base) / path


def default_file(url: str) -> Path:
    """Beside a SQLite file (`ostiary.db-witness`); in the user's data directory otherwise."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(parsed.database).expanduser().absolute()
        return database.with_name(database.name + "-witness")
    return _data_dir() / "audit-witness.jsonl"


def settings_of(audit: AuditConfig, url: str, base_dir: str) -> WitnessSettings:
    """`audit.witness` resolved: `file` a path, true (beside the store) or false; `syslog` true
    (authpriv) or a facility name; `webhook` a URL; `enabled: false` turns the witness off."""
    raw = audit.witness
    if raw.key_file:
        key_file = _path(raw.key_file, base_dir)
    elif audit.key_file:
        key_file = _path(audit.key_file, base_dir).with_name(KEY_FILE)
    else:
        key_file = _data_dir() / KEY_FILE
    if not raw.enabled:
        return WitnessSettings(None, None, None, key_file, raw.public_key)
    file = default_file(url) if raw.file is True else None
    if isinstance(raw.file, str) and raw.file:
        file = _path(raw.file, base_dir)
    syslog = "authpriv" if raw.syslog is True else raw.syslog or None
    if raw.webhook is not None:
        WebhookSink(raw.webhook)  # refuses a URL that is not http(s) at load
    return WitnessSettings(file, syslog, raw.webhook, key_file, raw.public_key)


def witness_of(settings: WitnessSettings, url: str) -> Witness | None:
    """The witness a gateway writes to, or None when `audit.witness: false` (logged at start)."""
    if not settings.enabled:
        return None
    sinks: list[Sink] = []
    if settings.file is not None:
        sinks.append(FileSink(settings.file))
    if settings.syslog is not None:
        sinks.append(SyslogSink(settings.syslog))
    if settings.webhook is not None:
        sinks.append(WebhookSink(settings.webhook))
    return Witness(settings.key_file, sinks, store_identity(url))
