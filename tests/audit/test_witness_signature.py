"""Witness entries are standard Ed25519: what the gateway signs checks with any Ed25519 library,
entries written by earlier gateways still check, and a damaged signature is reported as such.

The gateway signs with libsodium (PyNaCl) rather than `cryptography`, which would stay resident
in a long-running gateway after its first checkpoint; `cryptography` here is the independent
reference.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ostiary.audit.witness import _signed_part, entry_of, public_key_of, read_witness
from ostiary.store import Checkpoint

SEED = bytes(range(32))
CHECKPOINT = Checkpoint("main", "periodic", 42, "ab" * 32, 1_700_000_000_000_000, "k1", "sig")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_an_entry_checks_with_an_independent_ed25519_implementation_and_old_entries_still_check(
    tmp_path: Path,
) -> None:
    reference = Ed25519PrivateKey.from_private_bytes(SEED)
    public = public_key_of(SEED)
    assert base64.urlsafe_b64decode(public + "=") == reference.public_key().public_bytes_raw()
    line = entry_of(CHECKPOINT, "sqlite", SEED, public)
    entry = orjson.loads(line)
    reference.public_key().verify(base64.urlsafe_b64decode(entry["sig"] + "=="), _signed_part(entry))
    # Ed25519 is deterministic: an entry an earlier gateway signed with `cryptography` is this one.
    assert entry["sig"] == _b64(reference.sign(_signed_part(entry)))
    path = tmp_path / "witness.jsonl"
    path.write_bytes(line)
    reading = read_witness(path, public, "sqlite")
    assert reading.problem is None and [e.seq for e in reading.entries] == [42]


def test_a_damaged_or_truncated_signature_is_reported_as_invalid(tmp_path: Path) -> None:
    public = public_key_of(SEED)
    entry = orjson.loads(entry_of(CHECKPOINT, "sqlite", SEED, public))
    first = dict(entry, seq=43)
    flipped = dict(entry, sig=_b64(bytes([base64.urlsafe_b64decode(entry["sig"] + "==")[0] ^ 1]) * 64))
    truncated = dict(entry, sig=entry["sig"][:20])
    path = tmp_path / "witness.jsonl"
    for bad in (first, flipped, truncated):
        path.write_bytes(orjson.dumps(entry) + b"\n" + orjson.dumps(bad) + b"\n")
        assert read_witness(path, public, "sqlite").problem == "line 2: its signature is invalid"


def test_signing_an_entry_does_not_load_cryptography() -> None:
    probe = (
        "import sys\n"
        "from ostiary.audit.witness import entry_of, public_key_of\n"
        "from ostiary.store import Checkpoint\n"
        "seed = bytes(32)\n"
        "entry_of(Checkpoint('c', 'periodic', 1, 'h', 1, 'k', 's'), 'sqlite', seed, public_key_of(seed))\n"
        "print('cryptography' in sys.modules, 'nacl' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False True"
