"""Bearer JWT validation as an OAuth 2.1 resource server: signature against the issuer's keys,
an asymmetric algorithm allowlist, exp/nbf with a small leeway, issuer, and an audience equal to
the gateway's own canonical URI (RFC 8707), so a token minted for another service is worthless here.
"""

from __future__ import annotations

from typing import Any

import jwt

from ostiary.auth.jwks import JwksCache
from ostiary.auth.settings import JwtSettings

MAX_TOKEN_BYTES = 16 * 1024
# Which key type each algorithm family needs: an RSA key can never check an EC or HMAC signature.
_KEY_TYPE = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


class InvalidToken(Exception):
    """A token that does not prove anything. The message is safe to return to the caller."""


class TokenValidator:
    def __init__(self, settings: JwtSettings, audience: str, jwks: JwksCache) -> None:
        self.settings = settings
        self.audience = audience
        self.jwks = jwks

    async def validate(self, token: str) -> dict[str, Any]:
        """The token's claims, once every check has passed. Raises InvalidToken or JwksUnavailable."""
        if len(token) > MAX_TOKEN_BYTES:
            raise InvalidToken("token too large")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.settings.algorithms:
            raise InvalidToken("signing algorithm not accepted")
        kid = header.get("kid")
        key = await self.jwks.key(kid if isinstance(kid, str) else None)
        if key is None:
            raise InvalidToken("unknown signing key")
        if _KEY_TYPE.get(alg[:2]) != key.kty or (key.alg is not None and key.alg != alg):
            raise InvalidToken("signing algorithm does not match the key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway,
                options={"require": ["exp", "iss", "aud"], "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("token not yet valid") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("token was not issued for this resource") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("token issuer not accepted") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("token signature invalid") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"token lacks the '{exc.claim}' claim") from None
        except jwt.PyJWTError:
            raise InvalidToken("invalid token") from None
        subject = claims.get(self.settings.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise InvalidToken(f"token lacks the '{self.settings.subject_claim}' claim")
        return claims


def scopes_of(claims: dict[str, Any]) -> frozenset[str]:
    """Scopes from `scope` (space-separated, RFC 8693/9068) or `scp` (a list, common in practice)."""
    value = claims.get("scope", claims.get("scp"))
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    return frozenset()


def groups_of(claims: dict[str, Any], names: list[str]) -> frozenset[str]:
    groups: set[str] = set()
    for name in names:
        value = claims.get(name)
        if isinstance(value, str):
            groups.update(value.split())
        elif isinstance(value, list):
            groups.update(str(v) for v in value if isinstance(v, (str, int)))
    return frozenset(groups)
