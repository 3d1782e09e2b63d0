"""Labels on servers and tools: how far their content is trusted, whether it is private, and
whether a tool sends data out of the organisation.

Labels come, weakest first, from the tool's annotations, from what Ostiary knows of well-known
servers, from the server's `labels:` in the configuration, and from that section's per-tool
entries. Annotations only ever raise the risk (an open-world tool is untrusted and may send data
out) unless the server's annotations are trusted: a hostile server must not be able to label
itself internal.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ostiary.config import Config, ConfigError, ServerConfig

TRUST = ("trusted", "internal", "untrusted", "unknown")
DATA = ("private", "public", "unknown")
KEYS = ("trust", "data", "egress")
_CACHE_LIMIT = 8192


@dataclass(frozen=True, slots=True)
class Labels:
    trust: str = "unknown"
    data: str = "unknown"
    egress: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"trust": self.trust, "data": self.data, "egress": self.egress}

    def updated(self, values: Mapping[str, Any]) -> Labels:
        return replace(self, **{k: values[k] for k in KEYS if k in values})


@dataclass(frozen=True, slots=True)
class KnownServer:
    """Labels for a server recognised by its package or URL, and its tools that send data out."""

    markers: tuple[str, ...]
    labels: Labels
    egress_tools: tuple[str, ...] = ()


# Matched against the command, arguments and URL (lower-cased): a package or executable name.
WELL_KNOWN: tuple[KnownServer, ...] = (
    KnownServer(("mcp-server-fetch", "server-fetch"), Labels("untrusted", "public", True)),
    KnownServer(
        ("server-brave-search", "server-puppeteer", "playwright-mcp", "@playwright/mcp"),
        Labels("untrusted", "public", True),
    ),
    KnownServer(
        ("server-github", "github-mcp-server", "api.githubcopilot.com"),
        Labels("untrusted", "private"),
        ("create_*", "update_*", "add_*", "push_*", "merge_*", "fork_*"),
    ),
    KnownServer(
        ("server-gitlab",), Labels("untrusted", "private"), ("create_*", "update_*", "push_*", "fork_*")
    ),
    KnownServer(("server-slack",), Labels("untrusted", "private"), ("slack_post_*", "slack_reply_*")),
    KnownServer(("server-filesystem",), Labels("internal", "private")),
    KnownServer(("mcp-server-git", "server-git"), Labels("internal", "private")),
    KnownServer(("server-memory",), Labels("internal", "private")),
    KnownServer(("mcp-server-time", "server-time"), Labels("trusted", "public")),
)


def check_labels(value: Any, where: str, tools_allowed: bool = True) -> None:
    """Raise ConfigError unless `value` is a valid `labels:` section."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: labels must be a mapping")
    for key, item in value.items():
        if key == "tools" and tools_allowed:
            if not isinstance(item, dict):
                raise ConfigError(f"{where}: labels.tools must map tool names (globs) to labels")
            for name, labels in item.items():
                check_labels(labels, f"{where}: labels.tools.{name}", tools_allowed=False)
        elif key == "trust" and item not in TRUST:
            raise ConfigError(f"{where}: labels.trust must be one of {', '.join(TRUST)}")
        elif key == "data" and item not in DATA:
            raise ConfigError(f"{where}: labels.data must be one of {', '.join(DATA)}")
        elif key == "egress" and not isinstance(item, bool):
            raise ConfigError(f"{where}: labels.egress must be true or false")
        elif key not in KEYS:
            raise ConfigError(f"{where}: unknown label {key!r} (known: trust, data, egress, tools)")


def known_server(server: ServerConfig) -> KnownServer | None:
    text = " ".join([server.command or "", *server.args, server.url or ""]).lower()
    return next((k for k in WELL_KNOWN if any(m in text for m in k.markers)), None)


def configured(server: ServerConfig, tool: str | None) -> dict[str, Any]:
    """The labels the configuration states for this server and tool (no inference): what is pinned."""
    section = server.labels
    stated = {k: section[k] for k in KEYS if k in section}
    tools = section.get("tools")
    if tool is not None and isinstance(tools, dict):
        for pattern, labels in tools.items():
            if isinstance(labels, dict) and fnmatch.fnmatchcase(tool, str(pattern)):
                stated.update({k: labels[k] for k in KEYS if k in labels})
    return stated


def pinned_labels(config: Config, server: str, name: str) -> dict[str, Any]:
    """The configured labels of a server's tool, prompt or template: part of its pinned document,
    so that relabelling an untrusted server as trusted waits for an operator like a changed
    definition. Absent when none are configured, which leaves existing pins as they were."""
    spec = config.servers.get(server)
    return configured(spec, name) if spec is not None and spec.labels else {}


class Labeller:
    """Effective labels per (server, tool), cached; a definition's annotations may only raise risk."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._cache: dict[tuple[str | None, str | None, bool | None], Labels] = {}
        for name, server in config.servers.items():
            check_labels(server.labels, f"servers.{name}")

    def labels(self, server: str | None, tool: str | None, definition: Mapping[str, Any] | None) -> Labels:
        notes = definition.get("annotations") if definition else None
        open_world = notes.get("openWorldHint") if isinstance(notes, dict) else None
        key = (server, tool, open_world if isinstance(open_world, bool) else None)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            found = self._cache[key] = self._compute(server, tool, key[2])
        return found

    def _compute(self, server: str | None, tool: str | None, open_world: bool | None) -> Labels:
        labels = Labels()
        spec = self.config.servers.get(server) if server is not None else None
        if open_world is True:
            labels = Labels("untrusted", labels.data, True)
        elif open_world is False and spec is not None and spec.trust_annotations:
            labels = Labels("internal", labels.data, False)
        if spec is None:
            return labels
        known = known_server(spec)
        if known is not None:
            labels = known.labels
            if tool is not None and any(fnmatch.fnmatchcase(tool, p) for p in known.egress_tools):
                labels = replace(labels, egress=True)
            if open_world is True:
                labels = replace(labels, trust="untrusted", egress=True)
        return labels.updated(configured(spec, tool))
