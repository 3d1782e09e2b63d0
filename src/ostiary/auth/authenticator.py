"""Who is calling over HTTP: the gateway as an OAuth 2.1 resource server (MCP authorization spec).

Every request must carry a bearer token in the Authorization header: a JWT from the configured
issuer, or a static API key. A missing or bad credential is a 401 whose WWW-Authenticate points
at the RFC 9728 protected resource metadata, so clients can discover where to get a token; a
valid token without the required scopes is a 403 `insufficient_scope` (step-up). Tokens in a query
string are refused outright: URLs end up in logs and browser history.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from ostiary.auth.apikeys import ApiKeyVerifier, looks_like_key
from ostiary.auth.errors import AuthError
from ostiary.auth.jwks import JwksCache, JwksUnavailable
from ostiary.auth.settings import AuthSettings, auth_settings
from ostiary.auth.tokens import InvalidToken, TokenValidator, groups_of, scopes_of
from ostiary.config import Config
from ostiary.identity import Principal

QUERY_TOKEN_NAMES = frozenset({"access_token", "token", "api_key", "apikey", "key"})
WELL_KNOWN = "/.well-known/oauth-protected-resource"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


class Authenticator:
    def __init__(
        self, settings: AuthSettings, validator: TokenValidator | None, keys: ApiKeyVerifier
    ) -> None:
        self.settings = settings
        self.validator = validator
        self.keys = keys
        parts = urlsplit(settings.resource)
        path = parts.path.rstrip("/")
        # RFC 9728 section 3.1: the well-known segment goes between the host and the path.
        self.metadata_path = WELL_KNOWN + path
        self.metadata_url = f"{parts.scheme}://{parts.netloc}{self.metadata_path}"

    def metadata(self) -> dict[str, object]:
        document: dict[str, object] = {
            "resource": self.settings.resource,
            "authorization_servers": list(self.settings.authorization_servers),
            "bearer_methods_supported": ["header"],
        }
        if self.settings.scopes_supported:
            document["scopes_supported"] = list(self.settings.scopes_supported)
        if self.validator is not None:
            document["resource_signing_alg_values_supported"] = list(self.validator.settings.algorithms)
        if self.settings.resource_name:
            document["resource_name"] = self.settings.resource_name
        return document

    def challenge(
        self, error: str | None = None, description: str | None = None, scope: str | None = None
    ) -> str:
        """A WWW-Authenticate value (RFC 6750 section 3, RFC 9728 section 5.1)."""
        parts = []
        if error:
            parts.append(f'error="{error}"')
        if description:
            parts.append(f'error_description="{description}"')
        needed = scope if scope is not None else " ".join(self.settings.required_scopes)
        if needed:
            parts.append(f'scope="{needed}"')
        parts.append(f'resource_metadata="{self.metadata_url}"')
        return "Bearer " + ", ".join(parts)

    def _refuse(self, description: str) -> AuthError:
        return AuthError(401, self.challenge("invalid_token", description), "invalid_token", description)

    async def authenticate(self, headers: Mapping[str, str], query: Mapping[str, str]) -> Principal:
        if any(name.lower() in QUERY_TOKEN_NAMES for name in query):
            description = "credentials in the query string are refused; use the Authorization header"
            raise AuthError(
                400, self.challenge("invalid_request", description), "invalid_request", description
            )
        authorization = _header(headers, "authorization")
        if authorization is None:
            api_key = _header(headers, "x-api-key")
            if api_key is not None and self.settings.api_keys:
                return self._api_key(api_key.strip())
            raise AuthError(401, self.challenge(), "invalid_request", "authentication required")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            description = "the Authorization header must be 'Bearer <token>'"
            raise AuthError(
                401, self.challenge("invalid_request", description), "invalid_request", description
            )
        if looks_like_key(token) and self.settings.api_keys:
            return self._api_key(token)
        if self.validator is None:
            raise self._refuse("unknown credential")
        try:
            claims = await self.validator.validate(token)
        except InvalidToken as exc:
            raise self._refuse(str(exc)) from None
        except JwksUnavailable:
            description = "the identity provider's keys are unavailable; try again later"
            raise AuthError(503, None, "temporarily_unavailable", description) from None
        scopes = scopes_of(claims)
        missing = [s for s in self.settings.required_scopes if s not in scopes]
        if missing:
            description = "the token lacks a required scope"
            challenge = self.challenge("insufficient_scope", description)
            raise AuthError(403, challenge, "insufficient_scope", description)
        client = claims.get("azp", claims.get("client_id"))
        return Principal(
            subject=str(claims[self.validator.settings.subject_claim]),
            groups=groups_of(claims, self.validator.settings.group_claims),
            client_id=client if isinstance(client, str) else None,
            method="jwt",
            scopes=scopes,
            claims=claims,
            token=token,
        )

    def _api_key(self, presented: str) -> Principal:
        record = self.keys.verify(presented)
        if record is None:
            raise self._refuse("unknown API key")
        return Principal(
            subject=record.subject,
            groups=frozenset(record.groups),
            client_id=record.client_id or record.id,
            method="api_key",
        )


def build_authenticator(auth_section: dict[str, object], config: Config) -> Authenticator | None:
    """None when the configuration has no `auth:` section (stdio, or a loopback-only gateway)."""
    if not set(auth_section) - {"upstreams"}:
        return None
    settings = auth_settings(dict(auth_section), config)
    validator = None
    if settings.jwt is not None:
        jwt_settings = settings.jwt
        jwks = JwksCache(
            jwt_settings.jwks_url,
            jwt_settings.jwks_cache_seconds,
            jwt_settings.jwks_min_refresh_seconds,
            jwt_settings.jwks_timeout,
        )
        validator = TokenValidator(jwt_settings, settings.resource, jwks)
    return Authenticator(settings, validator, ApiKeyVerifier(settings.api_keys))
