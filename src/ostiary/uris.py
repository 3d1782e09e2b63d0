"""Resource URIs in one canonical form, so that a rule written for one spelling holds for all.

A policy that denies `file:///etc/*` must also deny `FILE:///etc/…`, `file://localhost/etc/…`,
`file:///%65tc/…`, `file:///./etc/…` and `file:///srv/../etc/…`: a server resolves every one of
them to the same file. Ostiary therefore parses each URI a client names (RFC 3986, section 6.2.2:
scheme and host in lower case, percent-encoded unreserved characters decoded and the remaining
escapes in upper case, dot segments removed), judges and routes the canonical form, and refuses
what does not parse. `file:` URIs are also brought to the one form a POSIX path has: `localhost`
and the empty host are the same, `file:/p` is `file:///p`, repeated slashes are one; an escaped
`/` or NUL in a file path names no file and is refused.
"""

from __future__ import annotations

import re

# RFC 3986, appendix B, with the authority required to follow `//`.
_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$", re.DOTALL)
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Characters no URI carries unescaped (RFC 3986 sections 2 and 3): controls, space and the like.
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f\"<>\\^`{|}]")
# The same, for an RFC 6570 template (a completion's `ref/resource`), whose expressions use braces.
_FORBIDDEN_IN_TEMPLATE = re.compile(r"[\x00-\x20\x7f\"<>\\^`|]")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SLASHES = re.compile(r"/{2,}")
MAX_URI = 8192


class UriError(ValueError):
    """A URI that cannot be parsed, so cannot be judged."""


def _escapes(text: str) -> str:
    """Decode escaped unreserved characters; upper-case the hex of every other escape."""

    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _ESCAPE.sub(one, text)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4."""
    out: list[str] = []
    segments = path.split("/")
    absolute = path.startswith("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
            continue
        if segment == "..":
            if len(out) > (1 if absolute else 0):
                out.pop()
            if last:
                out.append("")
            continue
        out.append(segment)
    joined = "/".join(out)
    if absolute and not joined.startswith("/"):
        joined = "/" + joined
    return joined


def canonical_uri(uri: str, template: bool = False) -> str:
    """The canonical spelling of `uri` (or of a URI template); raises UriError when it cannot be
    parsed."""
    if not uri or len(uri) > MAX_URI:
        raise UriError("a resource URI must be 1 to 8192 characters")
    forbidden = _FORBIDDEN_IN_TEMPLATE if template else _FORBIDDEN
    if forbidden.search(uri) or _BAD_ESCAPE.search(uri):
        raise UriError("a resource URI may not contain spaces, control characters or broken escapes")
    match = _URI.match(uri)
    if match is None:
        raise UriError("a resource URI needs a scheme")
    scheme, authority, path, query, fragment = match.groups()
    scheme = scheme.lower()
    if authority is not None:
        userinfo, at, hostport = authority.rpartition("@")
        authority = (userinfo + at if at else "") + _escapes(hostport).lower()
        authority = _escapes(authority)
    path = _escapes(path)
    if scheme == "file":
        if authority == "localhost":
            authority = ""
        if authority:
            raise UriError("a file URI names a file on this host only")
        if re.search(r"%(?:2F|00)", path):
            raise UriError("a file path may not contain an escaped '/' or NUL")
        path = _SLASHES.sub("/", path)
        if not path.startswith("/"):
            raise UriError("a file URI needs an absolute path")
        authority = ""
    if authority is not None or path.startswith("/"):
        path = remove_dot_segments(path)
    text = f"{scheme}:"
    if authority is not None:
        text += f"//{authority}"
    text += path
    if query is not None:
        text += "?" + _escapes(query)
    if fragment is not None:
        text += "#" + _escapes(fragment)
    return text
