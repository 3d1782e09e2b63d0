from __future__ import annotations

from collections.abc import Iterator

import pytest

from auth.issuer import Issuer, serve


@pytest.fixture(scope="module")
def keys() -> Issuer:
    """Generating RSA keys is slow; the same private keys serve every test in a module."""
    issuer = Issuer()
    issuer.add_rsa("rsa-1")
    issuer.add_ec("ec-1")
    issuer.add_rsa("rsa-next", publish=False)
    issuer.add_rsa("attacker", publish=False)
    return issuer


@pytest.fixture
def issuer(keys: Issuer) -> Iterator[Issuer]:
    fresh = Issuer(keys=keys.keys, published=["rsa-1", "ec-1"])
    with serve(fresh) as running:
        yield running
