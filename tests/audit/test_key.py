"""The chain key: from a secret reference, or generated once into a private key file."""

from __future__ import annotations

import hashlib
import hmac
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ostiary.audit import AuditKeyError, HmacSealer, sealer_from_config
from ostiary.audit.seal import load_key
from ostiary.config import Config


def test_a_generated_key_file_is_private_and_reused(tmp_path: Path):
    config = Config(audit={"key_file": str(tmp_path / "keys" / "chain.key")})
    first = load_key(config)
    assert stat.S_IMODE((tmp_path / "keys" / "chain.key").stat().st_mode) == 0o600
    assert load_key(config) == first
    assert len(first) == 64


def test_gateways_starting_together_agree_on_one_generated_key(tmp_path: Path):
    config = Config(audit={"key_file": str(tmp_path / "chain.key")})
    start = threading.Barrier(8)

    def racer() -> bytes:
        start.wait()
        return load_key(config)

    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: racer(), range(8)))
    assert len(set(keys)) == 1
    assert list(tmp_path.iterdir()) == [tmp_path / "chain.key"]


def test_a_reader_never_creates_a_key(tmp_path: Path):
    config = Config(audit={"key_file": str(tmp_path / "absent.key")})
    with pytest.raises(AuditKeyError):
        sealer_from_config(config, create_key=False)
    assert not (tmp_path / "absent.key").exists()


def test_a_configured_key_must_resolve_and_be_long_enough(monkeypatch: pytest.MonkeyPatch):
    config = Config(audit={"checkpoint_key": "${env:OSTIARY_TEST_CHAIN_KEY}"})
    with pytest.raises(AuditKeyError, match="OSTIARY_TEST_CHAIN_KEY is not set"):
        load_key(config)
    monkeypatch.setenv("OSTIARY_TEST_CHAIN_KEY", "short")
    with pytest.raises(AuditKeyError, match="at least 16"):
        load_key(config)
    monkeypatch.setenv("OSTIARY_TEST_CHAIN_KEY", "a-long-enough-chain-key")
    assert load_key(config) == b"a-long-enough-chain-key"


@pytest.mark.parametrize("length", [16, 63, 64, 65, 200])
def test_the_chain_mac_is_hmac_sha256_for_keys_of_any_length(length: int):
    key = bytes(range(256))[:length]
    for data in (b"", b"x", b"{}" * 5000):
        assert HmacSealer(key).mac(data) == hmac.new(key, data, hashlib.sha256).hexdigest()
