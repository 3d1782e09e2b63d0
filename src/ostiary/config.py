"""The gateway's configuration: the only place defaults live, validated at load.

Two inputs are accepted: Ostiary's YAML, and the `mcpServers` JSON that Claude Desktop, Cursor and
VS Code already use. Errors name the key and the line. Secret references stay unresolved here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import yaml

from ostiary.records import Record, extra_of, field

if TYPE_CHECKING:
    from pydantic import ValidationError

SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,30}$")
PREFIX = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9-]{0,30}))?$")
STORE_ENV = "OSTIARY_STORE"


class ConfigError(Exception):
    """A configuration that cannot be used; the message says which key, which line and why."""


class ToolFilter(Record):
    """Glob patterns over the tool names the server itself uses. Deny wins over allow."""

    allow: list[str] = field(default_factory=lambda: ["*"])
    deny: list[str] = field(default_factory=list)


class ServerConfig(Record):
    """One MCP server behind the gateway: a stdio command, or a URL."""

    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    transport: Literal["stdio", "streamable-http", "sse"] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Namespace prefix for its tools and prompts; None: the server's name; "": no prefix.
    prefix: str | None = None
    # Which protocol era to speak to it: auto probes (2026-07-28 first when the client is modern).
    era: Literal["auto", "legacy", "modern"] = "auto"
    timeout: float = field(default=60.0, metadata={"gt": 0})
    max_timeout: float = field(default=600.0, metadata={"gt": 0})
    tools: ToolFilter = field(default_factory=ToolFilter)
    # Tool annotations from this server may be relied on (otherwise they are hints only).
    trust_annotations: bool = False
    enabled: bool = True

    def check(self) -> None:
        if (self.command is None) == (self.url is None):
            raise ValueError("a server needs exactly one of 'command' (stdio) or 'url' (HTTP)")
        if self.command is not None and self.transport not in (None, "stdio"):
            raise ValueError(f"transport {self.transport!r} needs 'url', not 'command'")
        if self.url is not None:
            if self.transport == "stdio":
                raise ValueError("transport 'stdio' needs 'command', not 'url'")
            if not re.match(r"^https?://", self.url):
                raise ValueError("url must start with http:// or https://")
        if self.prefix is not None and not PREFIX.match(self.prefix):
            raise ValueError(
                "prefix must be up to 31 letters, digits or '-', starting with a letter or digit"
            )

    @property
    def kind(self) -> Literal["stdio", "streamable-http", "sse"]:
        if self.command is not None:
            return "stdio"
        return self.transport or "streamable-http"


class ListenConfig(Record):
    host: str = "127.0.0.1"
    port: int = field(default=8765, metadata={"ge": 0, "le": 65535})
    path: str = "/mcp"
    # Browser origins allowed to call the gateway; requests with any other Origin get 403.
    allowed_origins: list[str] = field(default_factory=list)
    # Host header values accepted besides loopback names (DNS-rebinding defence).
    allowed_hosts: list[str] = field(default_factory=list)
    # Turns the Origin/Host checks off. Named so it is never set by accident; logged at start.
    unsafe_disable_origin_checks: bool = False
    # Serving beyond loopback without `auth:` is refused unless this is set; logged at start.
    unsafe_allow_unauthenticated: bool = False
    session_idle_timeout: float = field(default=3600.0, metadata={"gt": 0})
    # A session with no open GET stream and nothing in flight was most likely abandoned without
    # DELETE; its servers are stopped sooner. A returning client gets 404 and re-initializes.
    detached_idle_timeout: float = field(default=300.0, metadata={"gt": 0})
    max_sessions: int = field(default=1000, metadata={"ge": 1})
    # Each session may run its own stdio servers: one principal cannot take every slot.
    max_sessions_per_principal: int = field(default=16, metadata={"ge": 1})


class LimitsConfig(Record):
    max_message_bytes: int = field(default=16 * 1024 * 1024, metadata={"ge": 1024})
    max_in_flight_per_session: int = field(default=256, metadata={"ge": 1})
    # What one server may send toward the client inside one call, and per session each minute;
    # beyond that its notifications are dropped and its requests refused, each kind recorded once.
    server_notifications_per_call: int = field(default=500, metadata={"ge": 1})
    server_requests_per_call: int = field(default=16, metadata={"ge": 1})
    server_notifications_per_minute: int = field(default=3000, metadata={"ge": 1})
    server_requests_per_minute: int = field(default=120, metadata={"ge": 1})


class StdioIdentity(Record):
    """The identity of the host on stdio; default: the OS user running the gateway."""

    subject: str | None = None
    groups: list[str] = field(default_factory=list)


class InspectionConfig(Record):
    EXTRA_ALLOWED = True

    name: str
    mode: Literal["enforce", "monitor"] = "enforce"
    timeout: float = field(default=5.0, metadata={"gt": 0})

    @property
    def options(self) -> dict[str, Any]:
        return extra_of(self)


def _default_inspections() -> list[InspectionConfig]:
    """With no `inspections:` list: the configured tool lists, and pins (trust on first use), so a
    definition that changes after first sight is quarantined without any configuration."""
    return [InspectionConfig(name="toolfilter"), InspectionConfig(name="pinning")]


def _server_names(servers: dict[str, ServerConfig]) -> None:
    for name in servers:
        if not SERVER_NAME.match(name):
            raise ValueError(
                f"server name {name!r}: up to 31 letters, digits or '-', starting with a letter or digit"
            )


class Config(Record):
    FIELD_CHECKS: ClassVar[dict[str, Callable[[Any], None]]] = {"servers": _server_names}

    name: str = "ostiary"
    servers: dict[str, ServerConfig] = field(default_factory=dict)
    listen: ListenConfig = field(default_factory=ListenConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    identity: StdioIdentity = field(default_factory=StdioIdentity)
    inspections: list[InspectionConfig] = field(default_factory=_default_inspections)
    # Store URL (sqlite+aiosqlite:///… or postgresql+asyncpg://…); OSTIARY_STORE overrides it.
    store: str | None = None
    # Sections owned by later subsystems; validated by them.
    policy: dict[str, Any] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)
    auth: dict[str, Any] = field(default_factory=dict)
    pinning: dict[str, Any] = field(default_factory=dict)
    detectors: dict[str, Any] = field(default_factory=dict)
    approvals: dict[str, Any] = field(default_factory=dict)
    # Where relative paths in this config are resolved from; set by the loader.
    base_dir: str = "."

    def check(self) -> None:
        seen: dict[str, str] = {}
        for name, server in self.servers.items():
            prefix = name if server.prefix is None else server.prefix
            if prefix and prefix in seen:
                raise ValueError(f"servers {seen[prefix]!r} and {name!r} share the prefix {prefix!r}")
            seen[prefix] = name

    def prefix_of(self, server: str) -> str:
        configured = self.servers[server].prefix
        return server if configured is None else configured

    def server_cwd(self, server: str) -> str | None:
        """A stdio server's working directory; relative paths are relative to this config file."""
        cwd = self.servers[server].cwd
        return None if cwd is None else str(Path(self.base_dir, cwd).expanduser())

    def store_url(self) -> str:
        url = os.environ.get(STORE_ENV) or self.store
        if url:
            return url
        from platformdirs import user_data_dir  # noqa: PLC0415  (only the store needs it)

        directory = Path(user_data_dir("ostiary", appauthor=False))
        return f"sqlite+aiosqlite:///{directory / 'ostiary.db'}"


# ---------------------------------------------------------------- loading, with line numbers


_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed: several times faster


class _LineLoader(_Base):  # type: ignore[misc]
    """A YAML loader that remembers the line of every mapping key and sequence item."""

    lines: dict[tuple[str | int, ...], int]


def _construct(loader: _LineLoader, node: yaml.Node, path: tuple[str | int, ...], source: str) -> Any:
    loader.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise ConfigError(
                    f"{source}: line {key_node.start_mark.line + 1}: mapping keys must be plain values"
                )
            if key in out:
                raise ConfigError(f"{source}: line {key_node.start_mark.line + 1}: duplicate key {key!r}")
            sub = (*path, str(key))
            loader.lines[sub] = key_node.start_mark.line + 1
            out[key] = _construct(loader, value_node, sub, source)
            loader.lines[sub] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, (*path, i), source) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def parse_yaml_lines(text: str, source: str) -> tuple[Any, dict[tuple[str | int, ...], int]]:
    """YAML to Python values plus the line of every key and item, for errors that name lines."""
    return _parse_yaml(text, source)


def _parse_yaml(text: str, source: str) -> tuple[Any, dict[tuple[str | int, ...], int]]:
    loader = _LineLoader(text)
    loader.lines = {}
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        return _construct(loader, node, (), source), loader.lines
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "somewhere"
        raise ConfigError(f"{source}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    finally:
        loader.dispose()


def _from_mcp_servers(data: dict[str, Any]) -> dict[str, Any]:
    """Translate the Claude Desktop / Cursor / VS Code `mcpServers` shape into Ostiary's."""
    servers: dict[str, Any] = {}
    entries = data.get("mcpServers", data.get("servers"))
    if not isinstance(entries, dict):
        raise ConfigError("'mcpServers' must be an object of servers")
    for raw_name, entry in entries.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"mcpServers.{raw_name}: must be an object")
        name = re.sub(r"[^A-Za-z0-9-]", "-", str(raw_name)).strip("-")[:31] or "server"
        server: dict[str, Any] = {}
        if "command" in entry:
            server["command"] = entry["command"]
            for key in ("args", "env", "cwd"):
                if key in entry:
                    server[key] = entry[key]
        elif "url" in entry:
            server["url"] = entry["url"]
            kind = entry.get("type") or entry.get("transport")
            server["transport"] = "sse" if kind == "sse" else "streamable-http"
            if "headers" in entry:
                server["headers"] = entry["headers"]
        else:
            raise ConfigError(f"mcpServers.{raw_name}: needs 'command' or 'url'")
        if entry.get("disabled") is True:
            server["enabled"] = False
        servers[name] = server
    return {"servers": servers}


def _describe(exc: ValidationError, lines: dict[tuple[str | int, ...], int], source: str) -> str:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        # Walk up until a located node is found (a missing key is reported at its parent).
        line = None
        probe = loc
        while probe and line is None:
            line = lines.get(probe)
            probe = probe[:-1]
        key = ".".join(str(p) for p in loc) or "(top level)"
        where = f"line {line}: " if line else ""
        msg = err["msg"].removeprefix("Value error, ")
        problems.append(f"{source}: {where}{key}: {msg}")
    return "\n".join(problems)


def parse(text: str, source: str = "<config>", base_dir: str = ".") -> Config:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        import json  # noqa: PLC0415

        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
        lines: dict[tuple[str | int, ...], int] = {}
        if isinstance(data, dict) and (
            "mcpServers" in data or ("servers" in data and "inspections" not in data)
        ):
            data = _from_mcp_servers(data)
    else:
        data, lines = _parse_yaml(text, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the configuration must be a mapping")
    if "mcpServers" in data:
        data = {**{k: v for k, v in data.items() if k != "mcpServers"}, **_from_mcp_servers(data)}
    data.setdefault("base_dir", base_dir)
    try:
        return Config.validate(data)
    except Exception as exc:
        # Raised only where pydantic decided (see records.py), so it is loaded by then.
        from pydantic import ValidationError  # noqa: PLC0415

        if not isinstance(exc, ValidationError):
            raise
        raise ConfigError(_describe(exc, lines, source)) from None


def load(path: str | Path) -> Config:
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read ({exc.strerror})") from None
    return parse(text, str(file), str(file.resolve().parent))
