"""What each server exposes, and the names under which the client sees it.

Tools and prompts of every server share one namespace at the client, so each is exposed as
`<prefix>__<name>` (the prefix is the server's configured name unless set otherwise). The scheme
keeps names within `[A-Za-z0-9_-]` and 64 characters, which common hosts accept: other characters
become `_`, and a name that would be longer is cut and given a short hash of the original. Two
definitions that would get the same exposed name are a collision: it is logged, and the later one
is exposed under a hash-suffixed name instead of shadowing the first. A server with an empty
prefix keeps its own names unchanged. Resource URIs are never renamed; they route by what each
server listed, then by its URI templates.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import orjson

from ostiary import methods
from ostiary.messages import ProtocolError
from ostiary.uris import UriError, canonical_uri

log = logging.getLogger("ostiary.catalog")

SEPARATOR = "__"
MAX_NAME = 64
# Names remembered per kind and session: a server that invents names cannot grow it without end.
MAX_GIVEN = 4096
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

# list method -> (result key, kind of catalog)
LIST_KEYS: dict[str, str] = {
    methods.TOOLS_LIST: "tools",
    methods.PROMPTS_LIST: "prompts",
    methods.RESOURCES_LIST: "resources",
    methods.RESOURCES_TEMPLATES_LIST: "resourceTemplates",
}
# list method -> server capability that offers it
LIST_CAPABILITY: dict[str, str] = {
    methods.TOOLS_LIST: "tools",
    methods.PROMPTS_LIST: "prompts",
    methods.RESOURCES_LIST: "resources",
    methods.RESOURCES_TEMPLATES_LIST: "resources",
}


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def expose(prefix: str, name: str) -> str:
    if not prefix:
        return name
    full = f"{prefix}{SEPARATOR}{_UNSAFE.sub('_', name)}"
    if len(full) > MAX_NAME:
        full = f"{full[: MAX_NAME - 7]}-{_short_hash(prefix + SEPARATOR + name)}"
    return full


def fold(name: str) -> str:
    """What a name looks like to a reader: NFKC, case-folded. Two names with the same fold are
    confusable (`read_file`, `Read_File`, `ｒｅａｄ_file`), so only the listed one is ever called."""
    return unicodedata.normalize("NFKC", name).casefold()


def _canonical_or_raw(uri: str) -> str:
    try:
        return canonical_uri(uri)
    except UriError:
        return uri


def _template_regex(template: str) -> re.Pattern[str]:
    """An RFC 6570 template as a matcher: each expression matches any run of characters."""
    parts = re.split(r"\{[^}]*\}", template)
    return re.compile("^" + ".*?".join(re.escape(p) for p in parts) + "$", re.DOTALL)


@dataclass(slots=True)
class _Named:
    """Exposed name <-> (server, the server's name) for one kind (tools or prompts)."""

    by_exposed: dict[str, tuple[str, str]] = field(default_factory=dict)
    by_original: dict[tuple[str, str], str] = field(default_factory=dict)
    definitions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # Every exposed name ever given in this session, kept across relists: a name keeps its
    # meaning, so a newcomer can never take over the name of a definition seen before it.
    given: dict[str, tuple[str, str]] = field(default_factory=dict)
    given_to: dict[tuple[str, str], str] = field(default_factory=dict)
    folded: dict[str, str] = field(default_factory=dict)
    _names: frozenset[str] | None = None

    def names(self) -> frozenset[str]:
        """Every name listed now, the server's and the exposed one (cached until a change)."""
        if self._names is None:
            self._names = frozenset(self.by_exposed) | frozenset(n for _, n in self.by_original)
        return self._names

    def add(self, server: str, prefix: str, definition: dict[str, Any]) -> str | None:
        name = definition.get("name")
        if not isinstance(name, str) or not name:
            return None
        key = (server, name)
        self.definitions[key] = definition
        self._names = None
        known = self.by_original.get(key)
        if known is not None:
            return known
        exposed = self.given_to.get(key) or expose(prefix, name)
        holder = self.by_exposed.get(exposed) or self.given.get(exposed)
        if holder is not None and holder != key:
            renamed = f"{exposed[: MAX_NAME - 7]}-{_short_hash(server + SEPARATOR + name)}"
            log.warning(
                "name collision: %r of %s and %r of %s both map to %r; the latter is exposed as %r",
                holder[1], holder[0], name, server, exposed, renamed,
            )  # fmt: skip
            exposed = renamed
        self.by_exposed[exposed] = key
        self.by_original[key] = exposed
        if len(self.given) < MAX_GIVEN:
            self.given.setdefault(exposed, key)
            self.given_to.setdefault(key, exposed)
        self.folded.setdefault(fold(exposed), exposed)
        return exposed

    def forget(self, server: str) -> None:
        self._names = None
        for key in [k for k in self.by_original if k[0] == server]:
            exposed = self.by_original.pop(key)
            self.by_exposed.pop(exposed, None)
            self.definitions.pop(key, None)
            if self.folded.get(fold(exposed)) == exposed:
                del self.folded[fold(exposed)]


class Catalog:
    """Per client session: what the servers listed, and how the client names it."""

    def __init__(self, prefixes: dict[str, str]) -> None:
        self.prefixes = prefixes
        self.tools = _Named()
        self.prompts = _Named()
        self.resources: dict[str, str] = {}  # canonical URI -> server
        self.spellings: dict[str, str] = {}  # canonical URI -> as the server listed it
        self.templates: list[tuple[str, re.Pattern[str]]] = []
        self.complete: set[tuple[str, str]] = set()  # (server, list method) fully listed

    def _named(self, method: str) -> _Named | None:
        if method == methods.TOOLS_LIST:
            return self.tools
        if method == methods.PROMPTS_LIST:
            return self.prompts
        return None

    def record_page(self, server: str, method: str, items: list[Any], last_page: bool) -> list[Any]:
        """Remember one page a server listed; return the items as the client must see them."""
        named = self._named(method)
        out: list[Any] = []
        for item in items:
            if not isinstance(item, dict):
                continue
            if named is not None:
                exposed = named.add(server, self.prefixes[server], item)
                if exposed is None:
                    continue
                out.append(item if exposed == item["name"] else {**item, "name": exposed})
                continue
            if method == methods.RESOURCES_LIST and isinstance(item.get("uri"), str):
                uri = _canonical_or_raw(item["uri"])
                if self.resources.setdefault(uri, server) == server:
                    self.spellings.setdefault(uri, item["uri"])
            elif method == methods.RESOURCES_TEMPLATES_LIST and isinstance(item.get("uriTemplate"), str):
                entry = (server, _template_regex(item["uriTemplate"]))
                if all(e[0] != server or e[1].pattern != entry[1].pattern for e in self.templates):
                    self.templates.append(entry)
            out.append(item)
        if last_page:
            self.complete.add((server, method))
        return out

    def forget(self, server: str, method: str) -> None:
        """A server said its list changed: what we knew is stale."""
        self.complete.discard((server, method))
        named = self._named(method)
        if named is not None:
            named.forget(server)
        elif method == methods.RESOURCES_LIST:
            self.resources = {u: s for u, s in self.resources.items() if s != server}
            self.spellings = {u: t for u, t in self.spellings.items() if u in self.resources}
            self.complete.discard((server, methods.RESOURCES_TEMPLATES_LIST))
            self.templates = [t for t in self.templates if t[0] != server]

    def listed(self, method: str, exposed: str) -> bool:
        named = self.tools if method == methods.TOOLS_LIST else self.prompts
        return exposed in named.by_exposed

    def look_alike(self, method: str, exposed: str) -> str | None:
        """The listed name `exposed` imitates by case or Unicode form, if any."""
        named = self.tools if method == methods.TOOLS_LIST else self.prompts
        if exposed in named.by_exposed:
            return None
        like = named.folded.get(fold(exposed))
        return like if like is not None and like != exposed else None

    def spelling(self, uri: str) -> str:
        """How to send a canonical URI: as its server listed it, or else canonical."""
        return self.spellings.get(uri, uri)

    def resolve(self, method: str, exposed: str) -> tuple[str, str] | None:
        """(server, name at the server) for a tool or prompt name as the client sent it."""
        named = self.tools if method == methods.TOOLS_LIST else self.prompts
        found = named.by_exposed.get(exposed)
        if found is not None:
            return found
        # Not listed yet: the scheme is reversible for names that needed no rewriting.
        prefix, sep, rest = exposed.partition(SEPARATOR)
        if sep:
            for server, p in self.prefixes.items():
                if p == prefix and rest:
                    return server, rest
        unprefixed = [s for s, p in self.prefixes.items() if not p]
        if len(unprefixed) == 1:
            return unprefixed[0], exposed
        return None

    def definition(self, method: str, server: str, name: str) -> dict[str, Any] | None:
        named = self.tools if method == methods.TOOLS_LIST else self.prompts
        return named.definitions.get((server, name))

    def exposed_name(self, method: str, server: str, name: str) -> str:
        named = self.tools if method == methods.TOOLS_LIST else self.prompts
        return named.by_original.get((server, name)) or expose(self.prefixes[server], name)

    def server_for_uri(self, uri: str) -> str | None:
        server = self.resources.get(uri)
        if server is not None:
            return server
        for candidate, pattern in self.templates:
            if pattern.match(uri):
                return candidate
        return None


def encode_cursor(pending: dict[str, str]) -> str:
    """One opaque cursor for an aggregated list: each server's own cursor, for those with more."""
    payload = orjson.dumps(pending)
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(value: object, servers: list[str]) -> dict[str, str]:
    invalid = ProtocolError(methods.INVALID_PARAMS, "Invalid cursor")
    if not isinstance(value, str) or not value or len(value) > 16384:
        raise invalid
    try:
        data = orjson.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise invalid from None
    if (
        not isinstance(data, dict)
        or not data
        or any(k not in servers or not isinstance(v, str) for k, v in data.items())
    ):
        raise invalid
    return data
