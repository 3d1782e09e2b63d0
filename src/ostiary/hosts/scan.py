"""`ostiary scan`: what MCP servers the hosts on this machine run, and what is wrong with them.

Without connecting, each entry is checked as written: credentials inline, a command that cannot
be found, plain HTTP to another machine. With `connect`, each server is started (or called) the
way its host would, its tool definitions and instructions go through the poisoning detector, and
each definition is compared with its pin from the previous scan (tenant `scan`, server
`host:name`), so a definition that changed since is reported until `ostiary pins approve` accepts
it. Servers already behind Ostiary are listed and left alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ostiary.config import ConfigError, ServerConfig, parse
from ostiary.hosts import credentials, probe, reading, variables
from ostiary.hosts.catalog import Found
from ostiary.secretref import has_reference

if TYPE_CHECKING:
    from ostiary.store import Store

Level = Literal["error", "warning", "note"]
PIN_TENANT = "scan"
CONCURRENCY = 4
_LOOPBACK = re.compile(r"^https?://(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(/|$)")


@dataclass(frozen=True, slots=True)
class Issue:
    rule: str
    level: Level
    message: str
    file: str
    host: str
    server: str
    tool: str | None = None


@dataclass
class ScannedServer:
    host: str
    title: str
    file: str
    name: str
    kind: str
    target: str
    guarded: bool
    tools: list[str] | None = None
    issues: list[Issue] = field(default_factory=list)


@dataclass
class ScanReport:
    files: list[Found] = field(default_factory=list)
    servers: list[ScannedServer] = field(default_factory=list)
    unreadable: list[Issue] = field(default_factory=list)

    @property
    def issues(self) -> list[Issue]:
        return [*self.unreadable, *(i for s in self.servers for i in s.issues)]

    @property
    def failed(self) -> bool:
        return any(i.level in ("error", "warning") for i in self.issues)

    def as_json(self) -> dict[str, Any]:
        return {
            "files": [{"host": f.host, "title": f.title, "path": str(f.path)} for f in self.files],
            "servers": [
                {
                    "host": s.host, "file": s.file, "name": s.name, "kind": s.kind, "target": s.target,
                    "behind_ostiary": s.guarded, "tools": s.tools,
                }
                for s in self.servers
            ],
            "findings": [
                {"rule": i.rule, "level": i.level, "message": i.message, "file": i.file, "host": i.host,
                 "server": i.server, "tool": i.tool}
                for i in self.issues
            ],
        }  # fmt: skip


def _server_config(name: str, entry: dict[str, Any]) -> ServerConfig:
    config = parse(json.dumps({"mcpServers": {name: entry}}))
    return next(iter(config.servers.values()))


def _target(server: ServerConfig) -> str:
    if server.command is not None:
        return " ".join([server.command, *server.args])[:120]
    from urllib.parse import urlsplit  # noqa: PLC0415

    parts = urlsplit(server.url or "")
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def _static(scanned: ScannedServer, server: ServerConfig, base_dir: str) -> None:
    def issue(rule: str, level: Level, message: str) -> None:
        scanned.issues.append(Issue(rule, level, message, scanned.file, scanned.host, scanned.name))

    for section, values in (("env", server.env), ("headers", server.headers)):
        for key, value in values.items():
            if credentials.is_credential(key, value):
                text = f"{section} {key} holds a credential inline; `ostiary import` moves it to a file"
                issue("scan.inline-credential", "warning", text)
    if server.command is not None and not has_reference(server.command):
        from ostiary.transports.command import CommandNotFound, resolve  # noqa: PLC0415

        try:
            resolve(server.command, os.environ.get("PATH"), server.cwd or base_dir)
        except CommandNotFound as exc:
            issue("scan.command-not-found", "error", str(exc))
    if server.url is not None and server.url.startswith("http://") and not _LOOPBACK.match(server.url):
        issue("scan.plain-http", "warning", "talks plain HTTP to another machine: use https://")


def read_servers(report: ScanReport, found: Found) -> list[tuple[ScannedServer, ServerConfig]]:
    """The servers of one host file, each checked as written."""
    where = str(found.path)
    try:
        document = reading.read(found.path)
    except reading.HostFileError as exc:
        report.unreadable.append(Issue("scan.unreadable", "warning", str(exc), where, found.host, ""))
        return []
    out: list[tuple[ScannedServer, ServerConfig]] = []
    for name, entry in reading.servers_of(document, found.layout).items():
        notes: list[str] = []
        translated = variables.translate_entry(entry, found.host, Path.home(), notes, name)
        try:
            server = _server_config(name, translated)
        except ConfigError as exc:
            text = str(exc).split(": ", 1)[-1]
            report.unreadable.append(Issue("scan.invalid-entry", "warning", text, where, found.host, name))
            continue
        guarded = server.command is not None and Path(server.command).name.startswith("ostiary")
        scanned = ScannedServer(found.host, found.title, where, name, server.kind, _target(server), guarded)
        if not guarded:
            _static(scanned, server, str(found.path.parent))
        out.append((scanned, server))
    return out


async def _connect(
    scanned: ScannedServer, server: ServerConfig, base_dir: str, seconds: float, store: Store | None
) -> None:
    from ostiary.detection.poisoning import PoisoningDetector  # noqa: PLC0415

    def issue(rule: str, level: Level, message: str, tool: str | None = None) -> None:
        scanned.issues.append(Issue(rule, level, message, scanned.file, scanned.host, scanned.name, tool))

    try:
        offered = await probe.fetch(probe.transport_for(scanned.name, server, base_dir), seconds)
    except probe.ProbeFailed as exc:
        issue("scan.unreachable", "warning", f"could not fetch its definitions: {exc}")
        return
    scanned.tools = [str(t.get("name", "")) for t in offered.tools]
    detector = PoisoningDetector()
    if offered.instructions and detector.scan_instructions(offered.instructions).flagged:
        report = detector.scan_instructions(offered.instructions)
        issue(
            "poisoning.instructions",
            "error",
            f"its instructions carry hidden directions ({report.explain()})",
        )
    for tool in offered.tools:
        report = detector.scan_definition(tool)
        if report.flagged:
            name = str(tool.get("name", ""))
            text = f"tool {name!r}: its definition carries instructions for the model ({report.explain()})"
            issue("poisoning.definition", "error", text, name)
    if store is not None:
        await _compare_pins(scanned, offered, store, issue)


async def _compare_pins(scanned: ScannedServer, offered: probe.Offered, store: Store, issue: Any) -> None:
    from ostiary.audit.canonical import canonical  # noqa: PLC0415
    from ostiary.inspections.pinning import HELD, TRUSTED, document, fingerprint  # noqa: PLC0415
    from ostiary.store import Pin  # noqa: PLC0415

    key = f"{scanned.host}:{scanned.name}"[:64]
    pins = {p.name: p for p in await store.load_pins(PIN_TENANT, key) if p.kind == "tool"}
    for tool in offered.tools:
        name = str(tool.get("name", ""))
        doc = document("tool", tool, offered.instructions)
        seen, text = fingerprint(doc), canonical(doc).decode()
        pin = pins.get(name)
        if pin is None:
            await store.save_pin(Pin(PIN_TENANT, key, "tool", name, seen, text, TRUSTED))
        elif pin.fingerprint != seen:
            if pin.pending_fingerprint != seen:
                await store.save_pin(
                    replace(pin, status=HELD, pending_fingerprint=seen, pending_document=text)
                )
            command = f"ostiary pins approve '{key}' {name} --tenant {PIN_TENANT}"
            text = f"tool {name!r} changed since the last scan (a rug pull?); review and accept: {command}"
            issue("pinning.changed", "error", text, name)


async def scan(
    found: list[Found], connect: bool = False, seconds: float = 15.0, store: Store | None = None
) -> ScanReport:
    report = ScanReport(files=found)
    pairs: list[tuple[ScannedServer, ServerConfig, str]] = []
    for item in found:
        for scanned, server in read_servers(report, item):
            report.servers.append(scanned)
            pairs.append((scanned, server, str(item.path.parent)))
    if connect:
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(scanned: ScannedServer, server: ServerConfig, base_dir: str) -> None:
            if scanned.guarded or not server.enabled:
                return
            async with limit:
                await _connect(scanned, server, base_dir, seconds, store)

        await asyncio.gather(*(one(*pair) for pair in pairs))
    return report
