"""Reading a policy file: YAML in, a compiled policy out, or an error naming the line and rule.

Errors are phrased like the configuration's (`file: line N: key: problem`) because the same
people read both, usually in a code review or a CI log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ostiary.config import ConfigError, _describe, parse_yaml_lines
from ostiary.policy.conditions import ConditionError
from ostiary.policy.engine import CompiledPolicy
from ostiary.policy.model import PolicyDocument


class PolicyError(Exception):
    """A policy that cannot be used; the message says which line and why."""


def _parse_lines(text: str, source: str) -> tuple[Any, dict[tuple[str | int, ...], int]]:
    """The configuration's line-tracking YAML reader (libyaml when present): one parser, one
    error style, duplicate keys refused, every key's line kept."""
    return parse_yaml_lines(text, source)


def parse(text: str, source: str = "<policy>") -> CompiledPolicy:
    try:
        data, lines = _parse_lines(text, source)
    except ConfigError as exc:
        message = str(exc)
        raise PolicyError(message if message.startswith(source) else f"{source}: {message}") from None
    if data is None or data == {}:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: a policy must be a mapping with 'rules'")
    try:
        document = PolicyDocument.validate(data)
    except Exception as exc:
        # Raised only where pydantic decided (see configrecord.py), so it is loaded by then.
        from pydantic import ValidationError  # noqa: PLC0415

        if not isinstance(exc, ValidationError):
            raise
        raise PolicyError(_describe(exc, lines, source)) from None
    try:
        return CompiledPolicy(document, source)
    except ConditionError as exc:
        index = exc.rule_index if exc.rule_index is not None else -1
        line = lines.get(("rules", index, "when"))
        where = f"line {line}: " if line else ""
        rule = document.rules[index].id if 0 <= index < len(document.rules) else "?"
        raise PolicyError(f"{source}: {where}rules.{index}.when (rule {rule!r}): {exc}") from None


def load(path: str | Path) -> CompiledPolicy:
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{file}: cannot be read ({exc.strerror})") from None
    return parse(text, str(file))
