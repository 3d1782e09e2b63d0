"""Who is calling: the principal every request carries through the pipeline.

Authentication (bearer tokens, API keys, the local OS user) produces a Principal; everything
downstream (policy, audit, session binding) reads only this.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    groups: frozenset[str] = frozenset()
    client_id: str | None = None
    method: str = "local"  # how it was authenticated: local, config, jwt, api_key
    scopes: frozenset[str] = frozenset()
    claims: dict[str, object] = field(default_factory=dict, hash=False, compare=False)
    # The validated bearer token, kept only to exchange it for an upstream's own token (RFC 8693).
    # Never printed, compared, logged or sent to a server.
    token: str | None = field(default=None, repr=False, hash=False, compare=False)

    @property
    def key(self) -> str:
        """Stable text to bind sessions and per-user resources to."""
        return f"{self.method}:{self.subject}"


def local_user() -> Principal:
    """The OS user running the gateway: the identity of a stdio host on the same machine."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Principal(subject=name, method="local")


def host_principal(subject: str | None, groups: list[str]) -> Principal:
    """The identity of a host that did not authenticate over the network: the configured one, or
    the OS user running the gateway (stdio, or HTTP on loopback without `auth:`)."""
    if subject:
        return Principal(subject=subject, groups=frozenset(groups), method="config")
    user = local_user()
    return Principal(subject=user.subject, groups=frozenset(groups), method="local") if groups else user
