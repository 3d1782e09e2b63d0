"""Why a caller was turned away, in the shape the HTTP front answers with (RFC 6750)."""

from __future__ import annotations


class AuthError(Exception):
    """A refused request. `description` is safe to show: it never contains the credential."""

    def __init__(self, status: int, www_authenticate: str | None, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.www_authenticate = www_authenticate
        self.error = error
        self.description = description
