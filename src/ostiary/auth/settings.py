"""The `auth:` section: how HTTP callers prove who they are (bearer JWTs, API keys).

Validated at load so that an unsafe setup (an `alg: none` allowlist, a JWKS fetched in clear text
from another host, a resource URI that is not canonical) never starts.
"""

from __future__ import annotations

import difflib
import re
import typing
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ostiary.config import Config, ConfigError

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
API_KEY_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _secure_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return url
    raise ValueError(f"{what} must be https (http only on loopback)")


class JwtSettings(_Model):
    issuer: str
    jwks_url: str
    # Asymmetric algorithms only: a shared-secret (HS*) or unsigned token is never accepted.
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "PS256", "ES256", "EdDSA"])
    # Clock skew tolerated on exp, nbf and iat, in seconds.
    leeway: float = Field(default=30.0, ge=0, le=300)
    # Claims read as the principal's groups (lists, or space-separated strings).
    group_claims: list[str] = Field(default_factory=lambda: ["groups", "roles"])
    subject_claim: str = "sub"
    # How long fetched keys are used before they are fetched again, and the least time between
    # two fetches triggered by an unknown key id (so forged kids cannot hammer the issuer).
    jwks_cache_seconds: float = Field(default=300.0, gt=0)
    jwks_min_refresh_seconds: float = Field(default=10.0, ge=0)
    jwks_timeout: float = Field(default=5.0, gt=0, le=60)

    @field_validator("jwks_url")
    @classmethod
    def _jwks(cls, value: str) -> str:
        return _secure_url(value, "jwks_url")

    @field_validator("algorithms")
    @classmethod
    def _algorithms(cls, value: list[str]) -> list[str]:
        unsafe = [a for a in value if a not in ASYMMETRIC_ALGORITHMS]
        if unsafe or not value:
            known = ", ".join(sorted(ASYMMETRIC_ALGORITHMS))
            raise ValueError(f"algorithms must be a non-empty subset of {known} (refused: {unsafe})")
        return value


class ApiKey(_Model):
    """A static key for a service account; only its hash is stored (see `ostiary.auth.apikeys`)."""

    id: str = Field(pattern=r"^[A-Za-z0-9-]{1,32}$")
    hash: str
    subject: str
    groups: list[str] = Field(default_factory=list)
    client_id: str | None = None

    @field_validator("hash")
    @classmethod
    def _hash(cls, value: str) -> str:
        if not API_KEY_HASH.match(value):
            raise ValueError("hash must be 'sha256:' and 64 hex digits (never the key itself)")
        return value


class AuthSettings(_Model):
    # The gateway's canonical URI (RFC 8707), e.g. https://mcp.example.com/mcp: tokens must be
    # issued for exactly this audience.
    resource: str
    authorization_servers: list[str] = Field(default_factory=list)
    scopes_supported: list[str] = Field(default_factory=list)
    # Scopes every token must carry; a token without them gets 403 insufficient_scope.
    required_scopes: list[str] = Field(default_factory=list)
    resource_name: str | None = None
    jwt: JwtSettings | None = None
    api_keys: list[ApiKey] = Field(default_factory=list)
    # Credentials presented to upstream servers; validated by `ostiary.auth.upstream_credentials`.
    upstreams: dict[str, Any] = Field(default_factory=dict)

    @field_validator("resource")
    @classmethod
    def _canonical(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("resource must be an absolute http(s) URI")
        if parts.fragment or parts.query:
            raise ValueError("resource must not have a query or fragment (RFC 8707)")
        if (
            value != value.strip()
            or parts.scheme != parts.scheme.lower()
            or parts.netloc != parts.netloc.lower()
        ):
            raise ValueError("resource must be canonical: lower-case scheme and host")
        return _secure_url(value, "resource")

    @model_validator(mode="after")
    def _some_method(self) -> AuthSettings:
        if self.jwt is None and not self.api_keys:
            raise ValueError("auth needs 'jwt' or 'api_keys' (or remove the section)")
        if self.jwt is not None and not self.authorization_servers:
            raise ValueError("auth.authorization_servers is needed with 'jwt' (clients discover it)")
        ids = [k.id for k in self.api_keys]
        if len(ids) != len(set(ids)):
            raise ValueError("api key ids must be unique")
        return self


def auth_settings(section: dict[str, Any], config: Config | None = None) -> AuthSettings:
    """The section as settings; each problem names its key, with the line and, for an unknown
    key, the nearest valid name when the configuration came from a file."""
    try:
        return AuthSettings.model_validate(section)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            path = ("auth", *e["loc"])
            where = config.locate(path) if config is not None else ""
            message = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                names = list(_model_at(AuthSettings, e["loc"][:-1]).model_fields)
                nearest = difflib.get_close_matches(str(e["loc"][-1]), names, n=1, cutoff=0.6)
                message = f"unknown key; did you mean {nearest[0]!r}?" if nearest else "unknown key"
            problems.append(f"{where}{'.'.join(map(str, path))}: {message}")
        raise ConfigError("\n".join(problems)) from None


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel]:
    """The model that holds the key at `loc` below `model` (list indexes and Optional skipped)."""
    for part in loc:
        if isinstance(part, int):
            continue
        annotation: Any = model.model_fields[str(part)].annotation
        for inner in (annotation, *typing.get_args(annotation)):
            for candidate in (inner, *typing.get_args(inner)):
                if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                    model = candidate
                    break
            else:
                continue
            break
    return model
