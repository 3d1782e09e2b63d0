"""Credentials written inline in a host's server entries, moved out of the configuration.

A value is a credential when its name says so (`…TOKEN`, `…API_KEY`, `Authorization`, …) or the
secrets detector recognises it (a provider's key format, a password in a URL). Each one moves to
a file of its own, readable only by the user, and the entry keeps a `${file:…}` reference, so the
configuration can be shared, diffed and committed without the secret.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ostiary.secretref import has_reference

_NAMED = re.compile(
    r"(?i)(token|secret|passw(or)?d|pwd|api[_-]?key|apikey|auth|credential|private[_-]?key|"
    r"access[_-]?key|cookie|session|bearer|pat$)"
)


@dataclass(frozen=True, slots=True)
class Moved:
    server: str
    field: str  # "env.NAME" or "headers.NAME"
    file: Path


@functools.cache
def _detector() -> Any:
    from ostiary.detection.secrets import SecretsDetector, SecretsOptions  # noqa: PLC0415

    return SecretsDetector(SecretsOptions(kinds=frozenset({"secret"})))


def is_credential(name: str, value: str) -> bool:
    if not value or has_reference(value):
        return False
    if _NAMED.search(name):
        return True
    return bool(_detector().find(value))


def _file_name(server: str, section: str, name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{server}.{section}.{name}")


def move(
    servers: dict[str, dict[str, Any]], directory: Path, dry_run: bool = False
) -> tuple[dict[str, dict[str, Any]], list[Moved]]:
    """The servers with inline credentials replaced by `${file:…}` references to 0600 files in
    `directory` (0700), and what moved. With `dry_run`, nothing is written."""
    moved: list[Moved] = []
    out: dict[str, dict[str, Any]] = {}
    for server, given in servers.items():
        entry = dict(given)
        for section in ("env", "headers"):
            values = entry.get(section)
            if not isinstance(values, dict):
                continue
            kept: dict[str, Any] = {}
            for name, value in values.items():
                if isinstance(value, str) and is_credential(name, value):
                    file = directory / _file_name(server, section, name)
                    if not dry_run:
                        _write_secret(file, value)
                    kept[name] = f"${{file:{file}}}"
                    moved.append(Moved(server, f"{section}.{name}", file))
                else:
                    kept[name] = value
            entry[section] = kept
        out[server] = entry
    return out, moved


def _write_secret(file: Path, value: str) -> None:
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(file.parent, 0o700)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    os.chmod(file, 0o600)
