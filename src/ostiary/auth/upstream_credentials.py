"""Credentials the gateway presents to an upstream server on behalf of the calling user.

The client's own token is never forwarded (MCP authorization: no token passthrough). Instead an
upstream gets either a token issued for it by the identity provider through OAuth 2.0 token
exchange (RFC 8693), or a per-user secret the operator stored (environment, file, OS keyring).
Values go only into the upstream connection's headers or environment; every value is registered
with the log redactor, and neither `repr`, errors nor logs carry one. A stdio upstream with
per-user credentials needs one process per user: `connection_key` says which process to use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ostiary import secretref
from ostiary.boundedcache import BoundedCache
from ostiary.config import Config, ConfigError
from ostiary.identity import Principal

GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 (a URN)
TOKEN_TYPE_ACCESS = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 (a URN)
_CACHE_LIMIT = 10_000
_REFRESH_MARGIN = 30.0


class UpstreamCredentialError(Exception):
    """No credential could be produced; the message names the server and cause, never a value."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _reference(value: str | None) -> str | None:
    if value is not None and not secretref.has_reference(value):
        raise ValueError("must be a secret reference (${env:…}, ${file:…}, ${keyring:…}), never the secret")
    return value


class TokenExchange(_Model):
    token_endpoint: str
    client_id: str
    client_secret: str | None = None
    audience: str | None = None
    resource: str | None = None
    scope: str | None = None
    timeout: float = Field(default=10.0, gt=0, le=60)

    @field_validator("client_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        return _reference(value)

    @field_validator("token_endpoint")
    @classmethod
    def _https(cls, value: str) -> str:
        from ostiary.auth.settings import LOOPBACK  # noqa: PLC0415

        host = httpx2.URL(value).host
        if not value.startswith("https://") and not (value.startswith("http://") and host in LOOPBACK):
            raise ValueError("token_endpoint must be https (http only on loopback)")
        return value


class PerUser(_Model):
    # Subject -> secret reference. A user without an entry is refused, never given someone else's.
    secrets: dict[str, str]

    @field_validator("secrets")
    @classmethod
    def _references(cls, value: dict[str, str]) -> dict[str, str]:
        for ref in value.values():
            _reference(ref)
        return value


class UpstreamAuth(_Model):
    token_exchange: TokenExchange | None = None
    per_user: PerUser | None = None
    # Where the credential goes: an HTTP header (value `scheme credential`) or, for stdio
    # servers, an environment variable of the per-user process.
    header: str = "Authorization"
    scheme: str = "Bearer"
    env: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> UpstreamAuth:
        if (self.token_exchange is None) == (self.per_user is None):
            raise ValueError("give exactly one of 'token_exchange' or 'per_user'")
        return self


@dataclass(frozen=True, slots=True)
class UpstreamCredentials:
    headers: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # names only: this object must be safe to log by accident
        return f"UpstreamCredentials(headers={sorted(self.headers)}, env={sorted(self.env)})"

    __str__ = __repr__


class CredentialBroker:
    def __init__(self, config: Config, upstreams: dict[str, UpstreamAuth]) -> None:
        self.config = config
        self.upstreams = upstreams
        self._tokens: BoundedCache[tuple[str, str], tuple[str, float]] = BoundedCache(_CACHE_LIMIT)

    def per_user(self, server: str) -> bool:
        return server in self.upstreams

    def connection_key(self, server: str, principal: Principal) -> str:
        """Which upstream connection (process, for stdio) serves this principal on this server."""
        return f"{server}|{principal.key}" if self.per_user(server) else server

    async def credentials_for(
        self, server: str, principal: Principal, subject_token: str | None = None
    ) -> UpstreamCredentials:
        """Headers and environment for `server`'s connection serving `principal`.

        `subject_token` is the caller's validated bearer token, needed only for token exchange;
        it is sent to the identity provider, never to the upstream.
        """
        spec = self.config.servers.get(server)
        if spec is None:
            raise UpstreamCredentialError(f"unknown server {server!r}")
        headers = {k: self._resolve(server, v) for k, v in spec.headers.items()}
        env = {k: self._resolve(server, v) for k, v in spec.env.items()}
        auth = self.upstreams.get(server)
        if auth is not None:
            value = await self._credential(server, auth, principal, subject_token)
            if spec.kind == "stdio":
                env[auth.env or ""] = value
            else:
                headers[auth.header] = f"{auth.scheme} {value}" if auth.scheme else value
        return UpstreamCredentials(headers, env)

    @staticmethod
    def _resolve(server: str, text: str) -> str:
        try:
            return secretref.resolve(text)
        except secretref.SecretError as exc:
            raise UpstreamCredentialError(f"server {server!r}: {exc}") from None

    async def _credential(
        self, server: str, auth: UpstreamAuth, principal: Principal, subject_token: str | None
    ) -> str:
        if auth.per_user is not None:
            ref = auth.per_user.secrets.get(principal.subject)
            if ref is None:
                raise UpstreamCredentialError(
                    f"server {server!r} has no credential for {principal.subject!r}"
                )
            return self._resolve(server, ref)
        if auth.token_exchange is None:
            raise UpstreamCredentialError(f"server {server!r} has no credential source")
        key = (server, principal.key)
        cached = self._tokens.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        if not subject_token:
            raise UpstreamCredentialError(f"server {server!r} needs the caller's token for token exchange")
        token, lifetime = await self._exchange(server, auth.token_exchange, subject_token)
        self._tokens.put(key, (token, time.monotonic() + max(0.0, lifetime - _REFRESH_MARGIN)))
        return token

    async def _exchange(self, server: str, spec: TokenExchange, subject_token: str) -> tuple[str, float]:
        """RFC 8693 section 2.1: trade the caller's token for one issued for this upstream."""
        form = {
            "grant_type": GRANT_TOKEN_EXCHANGE,
            "subject_token": subject_token,
            "subject_token_type": TOKEN_TYPE_ACCESS,
            "requested_token_type": TOKEN_TYPE_ACCESS,
        }
        for name in ("audience", "resource", "scope"):
            if (value := getattr(spec, name)) is not None:
                form[name] = value
        auth: httpx2.Auth | None = None
        if spec.client_secret is not None:
            auth = httpx2.BasicAuth(spec.client_id, self._resolve(server, spec.client_secret))
        else:
            form["client_id"] = spec.client_id
        try:
            async with httpx2.AsyncClient(timeout=spec.timeout, follow_redirects=False) as client:
                response = await client.post(
                    spec.token_endpoint, data=form, auth=auth or httpx2.USE_CLIENT_DEFAULT
                )
        except httpx2.HTTPError as exc:
            raise UpstreamCredentialError(
                f"server {server!r}: token exchange failed ({type(exc).__name__})"
            ) from None
        body = _json(response)
        token = body.get("access_token")
        if response.status_code != 200 or not isinstance(token, str) or not token:
            code = body.get("error")
            safe = code if isinstance(code, str) and code.replace("_", "").isalpha() else "no token"
            raise UpstreamCredentialError(
                f"server {server!r}: token exchange refused (HTTP {response.status_code}, {safe})"
            )
        if token == subject_token:
            raise UpstreamCredentialError(f"server {server!r}: the exchange returned the caller's own token")
        secretref.REDACTOR.add(token)
        lifetime = body.get("expires_in")
        return token, float(lifetime) if isinstance(lifetime, (int, float)) else 300.0


def _json(response: httpx2.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def build_broker(config: Config) -> CredentialBroker:
    """Reads `auth.upstreams`; checks every entry names a configured server and can be delivered."""
    raw = config.auth.get("upstreams", {})
    if not isinstance(raw, dict):
        raise ConfigError("auth.upstreams: must be a mapping of server name to credential settings")
    upstreams: dict[str, UpstreamAuth] = {}
    for server, section in raw.items():
        try:
            spec = UpstreamAuth.model_validate(section)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            raise ConfigError(f"auth.upstreams.{server}: {problems}") from None
        target = config.servers.get(server)
        if target is None:
            raise ConfigError(f"auth.upstreams.{server}: no such server")
        if target.kind == "stdio" and not spec.env:
            raise ConfigError(f"auth.upstreams.{server}: a stdio server receives its credential in 'env'")
        upstreams[server] = spec
    return CredentialBroker(config, upstreams)
