"""Each host's variable syntax, translated to Ostiary's `${env:NAME}` references.

Claude Code and Gemini CLI expand `${NAME}` (Claude Code also `${NAME:-default}`, Gemini CLI also
`$NAME`); VS Code, Cursor and Windsurf expand `${env:NAME}` (Ostiary's own syntax), `${userHome}`,
and VS Code asks the user for `${input:id}`. What has no equivalent is reported, never guessed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_BRACED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_BARE = re.compile(r"(?<![\w$])\$([A-Za-z_][A-Za-z0-9_]*)")
_EDITOR = re.compile(r"\$\{(userHome|workspaceFolder|workspaceFolderBasename|input):?([^}]*)\}")
# Hosts that expand a bare `$NAME` too; elsewhere a `$` is left alone (it may be in a password).
BARE_DOLLAR_HOSTS = frozenset({"gemini-cli"})


def translate(text: str, host: str, home: Path, notes: list[str], where: str) -> str:
    """`text` with the host's variables as `${env:…}` references; `notes` gets what could not be."""

    def editor(match: re.Match[str]) -> str:
        kind, rest = match.group(1), match.group(2)
        if kind == "userHome":
            return str(home)
        if kind == "input":
            name = re.sub(r"[^A-Za-z0-9_]", "_", rest).upper() or "INPUT"
            notes.append(f"{where}: ${{input:{rest}}} is asked by VS Code; set {name} for Ostiary")
            return f"${{env:{name}}}"
        notes.append(f"{where}: ${{{kind}}} has no meaning outside the editor; replace it with a path")
        return match.group(0)

    def braced(match: re.Match[str]) -> str:
        if match.group(2) is not None:
            notes.append(f"{where}: the default of ${{{match.group(1)}:-…}} is dropped; set {match.group(1)}")
        return f"${{env:{match.group(1)}}}"

    text = _BRACED.sub(braced, _EDITOR.sub(editor, text))
    if host in BARE_DOLLAR_HOSTS:
        text = _BARE.sub(lambda m: f"${{env:{m.group(1)}}}", text)
    return text


def translate_entry(
    entry: dict[str, Any], host: str, home: Path, notes: list[str], where: str
) -> dict[str, Any]:
    """Every string of a server entry translated (command, args, env, headers, url, cwd)."""

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, str):
            return translate(value, host, home, notes, path)
        if isinstance(value, list):
            return [walk(v, path) for v in value]
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}") for k, v in value.items()}
        return value

    out = {k: walk(v, f"{where}.{k}") for k, v in entry.items()}
    passed = entry.get("env_vars")  # Codex: variables passed through from the environment
    if isinstance(passed, list):
        env = dict(out.get("env") or {})
        env.update({str(n): f"${{env:{n}}}" for n in passed if isinstance(n, str)})
        out["env"] = env
        out.pop("env_vars", None)
    return out
