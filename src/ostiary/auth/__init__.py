"""Identity: who is calling (bearer JWTs, API keys, the local user) and, for upstreams, which
credential to present on that caller's behalf. Produces `ostiary.identity.Principal`."""

from ostiary.auth.authenticator import Authenticator, build_authenticator
from ostiary.auth.errors import AuthError

__all__ = ["AuthError", "Authenticator", "build_authenticator"]
