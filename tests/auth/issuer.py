"""A real token issuer for tests: RSA and EC keys, a JWKS endpoint on loopback, and minting."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from auth.loopback import serve_json

ISSUER = "https://idp.example.test"
RESOURCE = "https://gateway.example.test/mcp"


@dataclass
class Issuer:
    """Keys by kid; `published` is the set of kids the JWKS endpoint serves right now."""

    keys: dict[str, Any] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    requests: int = 0
    url: str = ""

    def add_rsa(self, kid: str, publish: bool = True) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if publish:
            self.published.append(kid)

    def add_ec(self, kid: str) -> None:
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        self.published.append(kid)

    def jwks(self) -> dict[str, Any]:
        entries = []
        for kid in self.published:
            key = self.keys[kid]
            if isinstance(key, rsa.RSAPrivateKey):
                entry = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            else:
                entry = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
            entries.append({**entry, "kid": kid, "use": "sig"})
        return {"keys": entries}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": ISSUER,
            "aud": RESOURCE,
            "sub": "alice",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "scope": "mcp:tools openid",
            "groups": ["dev", "oncall"],
            "azp": "cursor",
        }
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    def mint(
        self, kid: str = "rsa-1", alg: str | None = None, headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        key = self.keys[kid]
        algorithm = alg or ("RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256")
        return jwt.encode(
            self.claims(**claims), key, algorithm=algorithm, headers={"kid": kid, **(headers or {})}
        )


@contextmanager
def serve(issuer: Issuer) -> Iterator[Issuer]:
    def reply(record: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        issuer.requests += 1
        return (200, issuer.jwks()) if record["path"] == "/jwks.json" else (404, {})

    with serve_json(reply) as endpoint:
        issuer.url = f"{endpoint.url}/jwks.json"
        yield issuer


def auth_section(issuer: Issuer, **jwt_overrides: Any) -> dict[str, Any]:
    return {
        "resource": RESOURCE,
        "authorization_servers": [ISSUER],
        "scopes_supported": ["mcp:tools"],
        "required_scopes": ["mcp:tools"],
        "jwt": {"issuer": ISSUER, "jwks_url": issuer.url, **jwt_overrides},
    }


def token_endpoint_reply(client_secret: str) -> Any:
    """An RFC 8693 token endpoint: checks the client's credentials and the grant, issues a fresh token."""

    def reply(record: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        expected = "Basic " + base64.b64encode(f"ostiary:{client_secret}".encode()).decode()
        form = record["form"]
        if record["headers"].get("Authorization") != expected:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:token-exchange"]:
            return 400, {"error": "unsupported_grant_type"}
        return 200, {
            "access_token": f"upstream-{secrets.token_hex(12)}",
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "token_type": "Bearer",
            "expires_in": 600,
        }

    return reply
