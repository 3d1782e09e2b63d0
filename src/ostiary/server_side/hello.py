"""What the gateway says about its client when it opens a connection to a server, and what the
server says back. Kept separate so the session and the connection share one vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ostiary import methods

Era = Literal["legacy", "modern"]


@dataclass(frozen=True, slots=True)
class ClientHello:
    """The client's side of a handshake, forwarded honestly to every server."""

    era: Era
    protocol_version: str
    capabilities: dict[str, Any] = field(default_factory=dict)
    client_info: dict[str, Any] = field(default_factory=dict)

    def legacy_version(self) -> str:
        """The handshake version to offer a server: the client's own, if it is a handshake one."""
        if self.protocol_version in methods.HANDSHAKE_VERSIONS:
            return self.protocol_version
        return methods.LATEST_HANDSHAKE

    def modern_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            methods.META_PROTOCOL_VERSION: methods.LATEST_MODERN,
            methods.META_CLIENT_CAPABILITIES: self.capabilities,
        }
        if self.client_info:
            meta[methods.META_CLIENT_INFO] = self.client_info
        return meta


@dataclass(slots=True)
class ServerHello:
    """What a server told us about itself in its handshake."""

    era: Era
    protocol_version: str
    capabilities: dict[str, Any] = field(default_factory=dict)
    server_info: dict[str, Any] = field(default_factory=dict)
    instructions: str | None = None
    supported_versions: list[str] = field(default_factory=list)


def strip_unrelayable_capabilities(capabilities: dict[str, Any]) -> dict[str, Any]:
    """Capabilities Ostiary cannot route faithfully across several servers are not offered.

    Tasks need ids that are global across servers; until they are routed, refusing them cleanly is
    better than half-supporting them.
    """
    return {k: v for k, v in capabilities.items() if k != "tasks"}
