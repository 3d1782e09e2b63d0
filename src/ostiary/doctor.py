"""`ostiary doctor`: every thing a gateway needs, checked in the order it needs them, each
failure with the change that fixes it.

The configuration loads; every inspection (and the policy file) builds; every stdio command is
found the way the gateway will look for it; every server answers a handshake and lists its tools
within a deadline; the store opens, its files and the audit key are readable only by their owner,
and the audit chain verifies.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ostiary.config import Config, ConfigError, load


@dataclass(frozen=True, slots=True)
class Check:
    what: str
    ok: bool
    detail: str = ""
    fix: str = ""


def _private(path: Path, what: str, fix_mode: str) -> Check:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return Check(
            what, False, f"{path} is mode {mode:o}: others can read it", f"chmod {fix_mode} '{path}'"
        )
    return Check(what, True, f"{path} (mode {mode:o})")


def check_config(path: Path | None) -> tuple[Config | None, list[Check]]:
    if path is None:
        return Config(), [Check("configuration", True, "none given: built-in defaults, no servers")]
    try:
        config = load(path)
    except ConfigError as exc:
        return None, [Check("configuration", False, str(exc), "correct the file at the line named")]
    return config, [
        Check("configuration", True, f"{path}: gateway {config.name!r}, {len(config.servers)} servers")
    ]


def check_inspections(config: Config) -> list[Check]:
    from ostiary.inspections import build_stages  # noqa: PLC0415

    if not config.inspections:
        fix = "remove `inspections: []` to get pinning, poisoning, injection and secrets"
        return [Check("inspections", False, "inspections: [] turns every inspection off", fix)]
    try:
        stages = build_stages(config)
    except ConfigError as exc:
        return [Check("inspections", False, str(exc), "correct the inspection (or its policy file)")]
    return [Check("inspections", True, ", ".join(s.inspection.name for s in stages))]


def check_commands(config: Config) -> list[Check]:
    from ostiary.secretref import has_reference  # noqa: PLC0415
    from ostiary.transports.command import CommandNotFound, resolve  # noqa: PLC0415

    checks = []
    for name, server in config.servers.items():
        if server.command is None or not server.enabled or has_reference(server.command):
            continue
        try:
            found = resolve(
                server.command, os.environ.get("PATH"), config.server_cwd(name) or config.base_dir
            )
        except CommandNotFound as exc:
            fix = "install it, or give its absolute path as `command:`"
            checks.append(Check(f"server {name}: command", False, str(exc), fix))
            continue
        checks.append(Check(f"server {name}: command", True, found))
    return checks


async def check_servers(config: Config, seconds: float) -> list[Check]:
    import asyncio  # noqa: PLC0415

    from ostiary.hosts import probe  # noqa: PLC0415

    async def one(name: str) -> Check:
        server = config.servers[name]
        try:
            offered = await probe.fetch(probe.transport_for(name, server, config.base_dir), seconds)
        except probe.ProbeFailed as exc:
            fix = "see the server's own output: `ostiary run --log-level debug` shows it on stderr"
            return Check(f"server {name}: connects", False, str(exc), fix)
        info = offered.server_info
        label = f"{info.get('name', '?')} {info.get('version', '')}".strip()
        return Check(f"server {name}: connects", True, f"{label}, {len(offered.tools)} tools")

    names = [n for n, s in config.servers.items() if s.enabled]
    return list(await asyncio.gather(*(one(n) for n in names)))


def _sqlite_file(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return Path(path) if path and path != ":memory:" else None


async def check_store(config: Config) -> list[Check]:
    from ostiary.audit import AuditKeyError, sealer_from_config, verify  # noqa: PLC0415
    from ostiary.store import StoreError, open_store  # noqa: PLC0415

    url = config.store_url()
    checks: list[Check] = []
    file = _sqlite_file(url)
    if file is not None and not file.exists():
        # Checking must not create: the gateway makes its store, owner-only, at its first start.
        return [Check("store", True, f"none yet at {file}: the gateway creates it at its first start")]
    try:
        store = await open_store(config, must_exist=True)
    except StoreError as exc:
        return [Check("store", False, str(exc), "fix `store:` or OSTIARY_STORE, or the database's access")]
    try:
        checks.append(Check("store", True, url.split("@")[-1]))
        if file is not None:
            checks.append(_private(file, "store file", "600"))
            checks.append(_private(file.parent, "store folder", "700"))
        if not config.audit.enabled:
            checks.append(Check("audit chain", False, "audit.enabled: false: nothing is recorded",
                                "remove audit.enabled: false"))  # fmt: skip
            return checks
        try:
            sealer = sealer_from_config(config, create_key=False)
        except AuditKeyError as exc:
            checks.append(Check("audit key", True, f"{exc} (created at the gateway's first start)"))
            return checks
        key_file = config.audit.key_file
        if not config.audit.checkpoint_key:
            from ostiary.audit.seal import _default_key_path  # noqa: PLC0415

            path = Path(str(key_file)) if key_file else _default_key_path()
            if path.exists():
                checks.append(_private(path, "audit key", "600"))
        report = await verify(store, sealer, config.audit.chain)
        if report.ok:
            checks.append(Check("audit chain", True, f"intact, {report.records} records"))
        else:
            assert report.problem is not None
            detail = f"{report.problem.kind} at record {report.problem.seq}: {report.problem.detail}"
            checks.append(Check("audit chain", False, detail, "investigate: `ostiary audit verify` names it"))
    finally:
        await store.close()
    return checks
