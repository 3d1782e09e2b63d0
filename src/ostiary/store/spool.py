"""The audit spool: one gateway's append-only journal of audit records not yet in their chain.

Why it exists: a record must be durable before its message moves on, and on the embedded SQLite
store a commit writes six WAL pages, and two commits per call would be most of what the audit log
adds to a call. Appending one line to a file that this gateway
alone writes costs one write(2), and survives the gateway being killed exactly as a WAL commit
at synchronous=NORMAL does (both are in the kernel's page cache once the call returns). The
records then join the chain in batches some milliseconds later, off the message path.

A line is `<tag> <json>\\n`, tag = HMAC(chain key, previous tag + json), and the first line's
previous tag is the spool's name. So a line altered, removed, reordered, or copied in from
another spool breaks the tags from there on; recovery stops at the first bad tag and the store
reports the spool as tampered (`ostiary audit verify` fails). The store keeps, per spool
(table `audit_spools`), how many of its bytes are in the chain and the last such tag, moved in
the very transaction that appends those records, so recovery resumes exactly where the chain
stopped, never twice and never with a gap.

A spool also carries its own high-water mark, in a small file beside it (`<name>.jsonl.hwm`)
rewritten in place after every record: how many records and bytes the gateway acknowledged, the
last tag, and a MAC over them. The spool's tags catch a line changed, removed or reordered, but
not lines cut off its end; the high-water mark does: a spool shorter than its mark (cut by whole
lines, in the middle of one, or to nothing) was cut after its gateway acknowledged those records,
and recovery reports it, naming the spool and what is missing. The mark is kept beside the spool
rather than in the store's registry because it moves with every record, and a database write
per record is what the spool exists to avoid.

The writing gateway holds an exclusive flock on its file for as long as it lives. A spool file
whose lock can be taken belongs to a gateway that stopped without emptying it (it was killed):
the next gateway to open the store, or `ostiary audit`, appends its records to the chain and
removes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import json
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from ostiary.store.base import JSON, StoreError

SUFFIX = ".jsonl"
TAMPERED_SUFFIX = ".tampered"
HIGH_WATER_SUFFIX = ".hwm"
TAG_LENGTH = 64
# count, size, tag, MAC: fixed widths, so each rewrite covers the previous one exactly.
HIGH_WATER_FORMAT = b"%020d %020d %s %s\n"
NO_TAG = "-" * TAG_LENGTH  # before the first record
HIGH_WATER_LENGTH = 20 + 1 + 20 + 1 + TAG_LENGTH + 1 + TAG_LENGTH + 1
Mac = Callable[[bytes], str]


@dataclass(frozen=True, slots=True)
class Mark:
    """How far a spool is in its chain: its first `ingested` bytes, the last line tagged `tag`."""

    name: str
    ingested: int
    tag: str


def directory_of(database: Path) -> Path:
    """Spools live beside the database file, as its -wal and -shm files do."""
    return database.with_name(database.name + "-spool")


def high_water_path(spool: Path) -> Path:
    return spool.with_name(spool.name + HIGH_WATER_SUFFIX)


def _high_water_mac(mac: Mac, name: str, count: int, size: int, tag: str) -> str:
    return mac(b"high-water %s %d %d %s" % (name.encode(), count, size, tag.encode()))


@dataclass(frozen=True, slots=True)
class HighWater:
    """What a spool's gateway last acknowledged: `count` records in its first `size` bytes, the
    last of them tagged `tag`."""

    count: int
    size: int
    tag: str


def read_high_water(spool: Path, name: str, mac: Mac) -> HighWater | str:
    """The spool's high-water mark, or why it cannot be trusted."""
    try:
        data = high_water_path(spool).read_bytes()
    except FileNotFoundError:
        return "its high-water file is missing"
    except OSError as exc:
        return f"its high-water file cannot be read ({type(exc).__name__})"
    fields = data.split()
    if len(data) != HIGH_WATER_LENGTH or len(fields) != 4:
        return "its high-water file is damaged"
    try:
        count, size = int(fields[0]), int(fields[1])
        tag, given = fields[2].decode(), fields[3]
    except (ValueError, UnicodeDecodeError):
        return "its high-water file is damaged"
    if not hmac.compare_digest(given, _high_water_mac(mac, name, count, size, tag).encode()):
        return "its high-water file does not match its MAC"
    return HighWater(count, size, tag)


def _parse(data: bytes) -> object:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)  # integers beyond 64 bits; raises ValueError on anything not JSON


class Spool:
    """The open journal of one audit log; records are appended by `write`, on the event loop."""

    def __init__(self, path: Path, fd: int, mark_fd: int, mac: Mac) -> None:
        self.path = path
        self.name = path.name.removesuffix(SUFFIX)
        self._fd = fd
        self._mark_fd = mark_fd
        self._mac = mac
        self._tag = self.name
        self.size = 0
        self.count = 0

    @classmethod
    def create(cls, directory: Path, mac: Mac) -> Spool:
        """A new, empty, locked spool file (private to the user: records hold redacted arguments)."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        found = directory.stat()
        if found.st_mode & 0o077 and found.st_uid == os.getuid():
            directory.chmod(0o700)  # made by hand or by an older umask: others have no business here
        path = directory / f"{os.getpid()}-{secrets.token_hex(8)}{SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        # The high-water file first: a spool file never exists without one.
        mark_flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        try:
            mark_fd = os.open(high_water_path(path), mark_flags, 0o600)
        except OSError as exc:
            raise StoreError(f"the audit spool cannot be created ({type(exc).__name__})") from exc
        try:
            fd = os.open(path, flags, 0o600)
        except OSError as exc:
            os.close(mark_fd)
            high_water_path(path).unlink(missing_ok=True)
            raise StoreError(f"the audit spool cannot be created ({type(exc).__name__})") from exc
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        made = cls(path, fd, mark_fd, mac)
        made._mark()
        return made

    def _mark(self) -> None:
        """Rewrite the high-water file in place: what this gateway has acknowledged so far."""
        tag = self._tag if self.count else NO_TAG
        signed = _high_water_mac(self._mac, self.name, self.count, self.size, tag)
        line = HIGH_WATER_FORMAT % (self.count, self.size, tag.encode(), signed.encode())
        try:
            if os.pwrite(self._mark_fd, line, 0) != len(line):
                raise OSError("short write")
        except OSError as exc:
            failed = type(exc).__name__
            raise StoreError(f"the audit spool's high-water mark refused a write ({failed})") from exc

    def write(self, data: bytes) -> Mark:
        """Append one record, as its canonical JSON (one line: JSON text holds no raw newline);
        once this returns the record survives the gateway being killed."""
        tag = self._mac(self._tag.encode() + data)
        line = b"%s %s\n" % (tag.encode(), data)
        try:
            written = os.write(self._fd, line)
        except OSError as exc:
            raise StoreError(f"the audit spool refused a write ({type(exc).__name__})") from exc
        if written != len(line):
            # A short write (a full disk): cut it off again so that the next line starts clean.
            try:
                os.ftruncate(self._fd, self.size)
            except OSError as exc:
                raise StoreError("the audit spool is damaged (a short write could not be undone)") from exc
            raise StoreError("the audit spool refused a write (short write)")
        self.size += written
        self.count += 1
        self._tag = tag
        self._mark()
        return Mark(self.name, self.size, tag)

    def close(self) -> None:
        """Release the file (and its lock); what it holds stays for recovery unless removed."""
        if self._fd >= 0:
            os.close(self._fd)
            os.close(self._mark_fd)
            self._fd = self._mark_fd = -1

    def remove(self) -> None:
        self.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        high_water_path(self.path).unlink(missing_ok=True)


@dataclass(slots=True)
class Orphan:
    """A spool file whose gateway stopped; we hold its lock until `release`."""

    path: Path
    fd: int

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(SUFFIX)

    def read_from(self, start: int) -> bytes:
        size = os.fstat(self.fd).st_size
        return os.pread(self.fd, max(0, size - start), start) if size > start else b""

    @property
    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def release(self) -> None:
        os.close(self.fd)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        high_water_path(self.path).unlink(missing_ok=True)

    def set_aside(self) -> None:
        """Keep a spool that failed its check (and its high-water file) for the operator, out of
        recovery's way."""
        for path in (self.path, high_water_path(self.path)):
            with contextlib.suppress(FileNotFoundError):
                path.rename(path.with_name(path.name + TAMPERED_SUFFIX))


def orphans(directory: Path) -> Iterator[Orphan]:
    """The spool files in `directory` whose writers are gone, each locked for the caller."""
    try:
        paths = sorted(directory.glob(f"*{SUFFIX}"))
    except OSError:
        return
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            alive = False
        except BlockingIOError:
            alive = True
        if alive or os.fstat(fd).st_nlink == 0:  # its gateway runs, or another recovery took it
            os.close(fd)
            continue
        yield Orphan(path, fd)


@dataclass(frozen=True, slots=True)
class Reading:
    """The records after a mark, each with the mark that follows it, and why reading stopped early."""

    records: list[tuple[JSON, Mark]]
    problem: str | None = None


def read(data: bytes, after: Mark, mac: Mac) -> Reading:
    """Check and parse the spool bytes that follow `after`.

    A last line without its newline is a write the gateway never finished (it could only have
    been cut by the machine failing, or a disk filling up, and its message never moved on): it is
    left out. Any complete line whose tag does not follow is reported, and nothing after it used.
    """
    records: list[tuple[JSON, Mark]] = []
    position, tag = after.ingested, after.tag
    for line in data.split(b"\n")[:-1]:
        number = len(records) + 1
        given, payload = line[:TAG_LENGTH], line[TAG_LENGTH + 1 :]
        if len(line) <= TAG_LENGTH + 1 or line[TAG_LENGTH : TAG_LENGTH + 1] != b" ":
            return Reading(records, f"line {number} after byte {after.ingested} is not a spool line")
        if not hmac.compare_digest(given, mac(tag.encode() + payload).encode()):
            return Reading(records, f"line {number} after byte {after.ingested} does not match its tag")
        try:
            body = _parse(payload)
        except ValueError:
            return Reading(records, f"line {number} after byte {after.ingested} is not JSON")
        if not isinstance(body, dict):
            return Reading(records, f"line {number} after byte {after.ingested} is not a record")
        position += len(line) + 1
        tag = given.decode()
        records.append((body, Mark(after.name, position, tag)))
    return Reading(records)
