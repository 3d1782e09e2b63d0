"""The gateway's configuration: the only place defaults live, validated at load.

Two inputs are accepted: Ostiary's YAML, and the `mcpServers` JSON that Claude Desktop, Cursor and
VS Code already use. Errors name the key and the line. Secret references stay unresolved here.
"""

from __future__ import annotations

import os
import re
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import yaml

from ostiary.configrecord import Record, extra_of, field, fields_of

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
    # Provenance labels (trust, data, egress, per-tool `tools:`); see docs/provenance.md.
    labels: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    # Which HTTP sessions share one connection (one process, for stdio): each its own (`session`),
    # those of one principal (`principal`), or all (`shared`): for servers without session state.
    isolation: Literal["session", "principal", "shared"] = "session"

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
    # DELETE (a one-shot command line call); its servers are stopped within seconds. A returning
    # client gets 404 and re-initializes, as the protocol requires.
    detached_idle_timeout: float = field(default=30.0, metadata={"gt": 0})
    # The session 2026-07-28 requests of one principal share: never has a GET stream, is reused
    # by every stateless request, so it is kept longer than a detached one.
    stateless_idle_timeout: float = field(default=300.0, metadata={"gt": 0})
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


class WitnessConfig(Record):
    """`audit.witness`: where sealed checkpoints are also written, signed (docs/audit.md)."""

    enabled: bool = True
    # A path (relative to this file), true for the default beside the store, false for none.
    file: str | bool = True
    # true (the authpriv facility) or a facility name; false for none.
    syslog: str | bool = False
    webhook: str | None = None
    # The Ed25519 private key (created 0600 if missing); default: beside the chain key.
    key_file: str | None = None
    # For a verifier without the private key.
    public_key: str | None = None


class AuditConfig(Record):
    """`audit:`: the tamper-evident log (docs/audit.md)."""

    enabled: bool = True
    chain: str = "main"
    batch_max: int = field(default=1000, metadata={"ge": 1})
    # None: the store's default (a spool beside a SQLite file; none for PostgreSQL).
    spool: bool | None = None
    spool_dir: str | None = None
    checkpoint_key: str | None = None
    key_file: str | None = None
    checkpoint_every: int = field(default=1000, metadata={"ge": 1})
    checkpoint_seconds: float = field(default=60.0, metadata={"gt": 0})
    retention_days: float | None = None
    sqlite_synchronous: Literal["normal", "full"] = "normal"
    postgres_synchronous_commit: Literal["on", "off", "local", "remote_write", "remote_apply"] = "on"
    witness: WitnessConfig = field(default_factory=WitnessConfig)


class PolicyConfig(Record):
    """`policy:`: the policy file, also given as the policy inspection's options."""

    file: str | None = None
    watch: bool = True
    interval: float = field(default=1.0, metadata={"gt": 0, "le": 3600})


class PinningConfig(Record):
    """`pinning:`: what a definition seen for the first time gets (docs/pinning.md)."""

    mode: Literal["tofu", "quarantine"] = "tofu"
    # None: the gateway's name, so that two gateways of one user keep their pins apart.
    tenant: str | None = None


class NoOptions(Record):
    """An inspection that takes no options."""


class PolicyOptions(Record):
    file: str | None = None
    watch: bool | None = None
    interval: float | None = field(default=None, metadata={"gt": 0, "le": 3600})


class PinningOptions(Record):
    mode: Literal["tofu", "quarantine"] | None = None
    tenant: str | None = None


class InjectionOptions(Record):
    action: Literal["block", "quarantine", "warn"] = "block"
    threshold: float = 0.5
    allow_tools: list[str] = field(default_factory=list)
    classifier: dict[str, Any] | None = None


class PoisoningOptions(Record):
    action: Literal["block", "warn"] = "block"
    threshold: float = 0.5


class SecretsOptions(Record):
    action: Literal["redact", "block", "warn", "allow"] = "redact"
    kinds: list[Literal["secret", "pii"]] = field(default_factory=lambda: ["secret", "pii"])
    allow: dict[str, list[str]] = field(default_factory=dict)
    arguments: bool = True
    results: bool = True
    # Rule glob -> an action, or {arguments: …, results: …} (checked by the inspection's build).
    actions: dict[str, Any] = field(default_factory=dict)
    redact_arguments: list[str] = field(default_factory=list)


class ProvenanceOptions(Record):
    meta: bool = False
    window: float = field(default=3600.0, metadata={"gt": 0})
    max_sessions: int = field(default=1000, metadata={"ge": 1})
    max_results: int = field(default=1000, metadata={"ge": 1})
    max_fragments: int = field(default=250_000, metadata={"ge": 1})
    max_total_fragments: int = field(default=500_000, metadata={"ge": 1})


# The options each built-in inspection takes, checked when the configuration is loaded.
INSPECTION_OPTIONS: dict[str, type[Record]] = {
    "toolfilter": NoOptions,
    "pinning": PinningOptions,
    "policy": PolicyOptions,
    "injection": InjectionOptions,
    "poisoning": PoisoningOptions,
    "secrets": SecretsOptions,
    "provenance": ProvenanceOptions,
}


class InspectionConfig(Record):
    # An inspection's own options sit beside name, mode and timeout; they are checked against
    # INSPECTION_OPTIONS when the configuration is loaded.
    EXTRA_ALLOWED = True

    name: str
    mode: Literal["enforce", "monitor"] = "enforce"
    timeout: float = field(default=5.0, metadata={"gt": 0})

    @property
    def options(self) -> dict[str, Any]:
        return extra_of(self)


def _default_inspections() -> list[InspectionConfig]:
    """With no `inspections:` list (a bare `mcpServers` file): the configured tool lists, pins
    (trust on first use), and the content inspections, so a poisoned definition is blocked, an
    injected result carries a warning, and credentials are redacted without any configuration.
    Personal data is left to an explicit `secrets` entry: it is common in ordinary results."""
    return [
        InspectionConfig(name="toolfilter"),
        InspectionConfig(name="pinning"),
        InspectionConfig.validate({"name": "poisoning", "action": "block"}),
        InspectionConfig.validate({"name": "injection", "action": "warn"}),
        InspectionConfig.validate({"name": "secrets", "action": "redact", "kinds": ["secret"]}),
    ]


def _server_names(servers: dict[str, ServerConfig]) -> None:
    for name in servers:
        if not SERVER_NAME.match(name):
            raise ValueError(
                f"server name {name!r}: up to 31 letters, digits or '-', starting with a letter or digit"
            )


class Config(Record):
    FIELD_CHECKS: ClassVar[dict[str, Callable[[Any], None]]] = {"servers": _server_names}

    # Scopes pins, inventory and audit records; default: derived from the config file's path.
    name: str = "ostiary"
    servers: dict[str, ServerConfig] = field(default_factory=dict)
    listen: ListenConfig = field(default_factory=ListenConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    identity: StdioIdentity = field(default_factory=StdioIdentity)
    inspections: list[InspectionConfig] = field(default_factory=_default_inspections)
    # Store URL (sqlite+aiosqlite:///… or postgresql+asyncpg://…); OSTIARY_STORE overrides it.
    store: str | None = None
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    pinning: PinningConfig = field(default_factory=PinningConfig)
    # Checked at load by the auth package's own model (auth/settings.py), when present.
    auth: dict[str, Any] = field(default_factory=dict)
    detectors: dict[str, Any] = field(default_factory=dict)
    approvals: dict[str, Any] = field(default_factory=dict)
    # A refused tools/call: a tool result with isError (the model reads why), or a JSON-RPC error.
    denials: Literal["tool-result", "error"] = "tool-result"
    # Where relative paths in this config are resolved from; set by the loader.
    base_dir: str = "."
    # The file this configuration was loaded from, if any; set by the loader.
    source: str | None = None

    def check(self) -> None:
        seen: dict[str, str] = {}
        for name, server in self.servers.items():
            prefix = name if server.prefix is None else server.prefix
            if prefix and prefix in seen:
                raise ValueError(f"servers {seen[prefix]!r} and {name!r} share the prefix {prefix!r}")
            seen[prefix] = name

    def locate(self, path: tuple[str | int, ...]) -> str:
        """`file: line N: ` for the key at `path`, for errors found after loading (the auth
        section is checked by its own model when `serve` starts); "" when unknown."""
        source, lines = self.__dict__.get("_located", ("", {}))
        probe = path
        while probe and probe not in lines:
            probe = probe[:-1]
        line = lines.get(probe)
        return f"{source}: line {line}: " if source and line else (f"{source}: " if source else "")

    @property
    def display_name(self) -> str:
        """The name hosts show: the configured `name`, or "ostiary" when it was derived from the path."""
        if self.source is not None and self.name == default_name(self.source):
            return "ostiary"
        return self.name

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


def _names_at(root: Any, loc: tuple[str | int, ...]) -> list[str]:
    """The field names valid at `loc` below the record `root` (for suggestions)."""
    annotation: Any = root
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Record):
        return [name for name in fields_of(annotation) if name != "base_dir"]  # set by the loader
    return []


def _unwrap(annotation: Any) -> Any:
    """`X | None` as X."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (types.UnionType, typing.Union) and len(args) == 1:
        return args[0]
    return annotation


def _step(annotation: Any, part: str | int) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Record):
        return fields_of(annotation).get(str(part))
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and isinstance(part, int):
        return args[0]
    if origin is dict:
        return args[1]
    return None


def _problem(err: Any, loc: tuple[str | int, ...], names: list[str]) -> str:
    if err["type"] != "extra_forbidden" or not loc:
        return str(err["msg"]).removeprefix("Value error, ")
    import difflib  # noqa: PLC0415  (only to explain an unknown key)

    nearest = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    if nearest:
        return f"unknown key; did you mean {nearest[0]!r}?"
    valid = ", ".join(sorted(names)) or "none"
    return f"unknown key (valid keys here: {valid})"


def _describe(
    exc: ValidationError, lines: dict[tuple[str | int, ...], int], source: str, root: Any = None
) -> str:
    """The problems in `exc`, one per line; with the `root` record, unknown keys get the nearest
    valid name."""
    return "\n".join(_problems(exc, lines, source, names=None, root=root))


def _problems(
    exc: ValidationError,
    lines: dict[tuple[str | int, ...], int],
    source: str,
    prefix: tuple[str | int, ...] = (),
    names: list[str] | None = None,
    root: Any = None,
) -> list[str]:
    """One line per problem: the file, the line, the key, what is wrong (for an unknown key,
    the nearest valid name)."""
    problems = []
    for err in exc.errors():
        inner = tuple(err["loc"])
        loc = (*prefix, *inner)
        # Walk up until a located node is found (a missing key is reported at its parent).
        line = None
        probe = loc
        while probe and line is None:
            line = lines.get(probe)
            probe = probe[:-1]
        key = ".".join(str(p) for p in loc) or "(top level)"
        where = f"line {line}: " if line else ""
        if names is None and root is None:
            problems.append(f"{source}: {where}{key}: {_problem(err, (), [])}")
            continue
        valid = names if names is not None else _names_at(root, inner[:-1])
        problems.append(f"{source}: {where}{key}: {_problem(err, loc, valid)}")
    return problems


def _check_options(config: Config, lines: dict[tuple[str | int, ...], int], source: str) -> list[str]:
    """Each built-in inspection's options against its record; unknown keys are errors."""
    from pydantic import ValidationError  # noqa: PLC0415  (only when a record refused them)

    problems: list[str] = []
    own = list(fields_of(InspectionConfig))
    for index, spec in enumerate(config.inspections):
        record = INSPECTION_OPTIONS.get(spec.name)
        if record is None:
            continue  # an unknown inspection is refused by name when the pipeline is built
        try:
            record.validate(spec.options)
        except ValidationError as exc:
            names = [*own, *fields_of(record)]
            problems += _problems(exc, lines, source, ("inspections", index), names)
    return problems


def default_name(path: str | Path) -> str:
    """A gateway name for a config file that sets none: its stem and a digest of its full path,
    so two gateways whose files share a name keep their pins, inventory and records apart."""
    import hashlib  # noqa: PLC0415

    resolved = Path(path).expanduser().resolve()
    stem = re.sub(r"[^A-Za-z0-9-]+", "-", resolved.stem).strip("-")[:40] or "config"
    return f"{stem}-{hashlib.sha256(str(resolved).encode()).hexdigest()[:6]}"


def parse(text: str, source: str = "<config>", base_dir: str = ".", name: str | None = None) -> Config:
    text = text.removeprefix("\ufeff")  # a byte-order mark, as some Windows editors write
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
    if name is not None:
        data.setdefault("name", name)
        data.setdefault("source", str(Path(source).resolve()))
    try:
        config = Config.validate(data)
        options = [spec.options for spec in config.inspections]
        for spec, given in zip(config.inspections, options, strict=True):
            record = INSPECTION_OPTIONS.get(spec.name)
            if record is not None:
                record.validate(given)
    except Exception as exc:
        # Raised only where pydantic decided (see configrecord.py), so it is loaded by then.
        from pydantic import ValidationError  # noqa: PLC0415

        if not isinstance(exc, ValidationError):
            raise
        try:
            config = Config.validate(data)
        except ValidationError as whole:
            raise ConfigError(_describe(whole, lines, source, Config)) from None
        raise ConfigError("\n".join(_check_options(config, lines, source))) from None
    object.__setattr__(config, "_located", (source, lines))
    return config


def load(path: str | Path) -> Config:
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        line = file.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{file}: line {line}: not UTF-8 text (byte {exc.start})") from None
    return parse(text, str(file), str(file.resolve().parent), default_name(file))
