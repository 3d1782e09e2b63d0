"""Secret references (`${env:NAME}`, `${file:PATH}`, `${keyring:SERVICE/USER}`) and their redaction.

Configuration names where a secret lives, never the secret itself. A reference is resolved only
when an upstream connection is built, and every resolved value is registered with the redactor so
that no log line can carry it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

_REF = re.compile(r"\$\{(env|file|keyring):([^}]+)\}")
REDACTED = "[REDACTED]"


class SecretError(Exception):
    """A reference that cannot be resolved. Its message names the reference, never a value."""


def has_reference(text: str) -> bool:
    return _REF.search(text) is not None


def references(text: str) -> list[str]:
    return [m.group(0) for m in _REF.finditer(text)]


def _resolve_one(kind: str, name: str) -> str:
    if kind == "env":
        value = os.environ.get(name)
        if value is None:
            raise SecretError(f"environment variable {name} is not set")
        return value
    if kind == "file":
        try:
            return Path(name).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(f"secret file {name} cannot be read ({exc.strerror})") from None
    service, _, user = name.partition("/")
    try:
        import keyring  # noqa: PLC0415  (optional backend, loaded only when referenced)

        value = keyring.get_password(service, user)
    except Exception as exc:
        raise SecretError(f"keyring entry {name} cannot be read ({type(exc).__name__})") from None
    if value is None:
        raise SecretError(f"keyring entry {name} does not exist")
    return value


def resolve(text: str) -> str:
    """Replace every reference in `text` with its value and register the values for redaction."""

    def sub(match: re.Match[str]) -> str:
        value = _resolve_one(match.group(1), match.group(2))
        REDACTOR.add(value)
        return value

    return _REF.sub(sub, text)


class Redactor:
    """Known secret values, replaced wherever text is about to leave the process (logs, errors)."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if len(value) < 4:  # too short to redact without mangling ordinary text
            return
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                alternatives = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in alternatives))

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None else pattern.sub(REDACTED, text)


REDACTOR = Redactor()


class RedactingFilter(logging.Filter):
    """A logging filter that removes every resolved secret from the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if REDACTOR._pattern is not None:
            record.msg = REDACTOR(record.getMessage())
            record.args = None
        return True
