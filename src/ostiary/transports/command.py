"""Where a stdio server's command is: found the same way whoever launched the gateway.

A desktop host starts `ostiary run` with a minimal environment (macOS apps get
`/usr/bin:/bin:/usr/sbin:/sbin`), so a bare command name such as `mcp-server-time` or `npx` is
looked up first in the gateway's own environment (the `bin` of the venv it runs from), then on the
server's `PATH`, then in the places package managers install to. The directory the command was
found in goes to the front of the child's `PATH`, so that a script such as `npx` finds the
interpreter installed beside it (`#!/usr/bin/env node`).
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

# Where package managers put commands that a host's minimal PATH leaves out.
USUAL_DIRS = (
    "/usr/local/bin",
    "/opt/homebrew/bin",
    "~/.local/bin",
    "~/.cargo/bin",
    "~/.bun/bin",
    "~/.deno/bin",
    "~/.volta/bin",
    "/usr/bin",
    "/bin",
)


class CommandNotFound(Exception):
    """No executable by that name in any directory searched; the message lists them."""


def gateway_bin_dirs() -> list[str]:
    """The directories of the environment the gateway runs from: its venv's scripts first."""
    found = [sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]
    return list(dict.fromkeys(d for d in found if d))


def search_dirs(path: str | None) -> list[str]:
    """The gateway's own bin, then `path`, then the usual install places; no duplicates."""
    dirs = gateway_bin_dirs()
    dirs += [d for d in (path or "").split(os.pathsep) if d]
    dirs += [os.path.expanduser(d) for d in USUAL_DIRS]
    return list(dict.fromkeys(dirs))


def resolve(command: str, path: str | None, base_dir: str | None = None) -> str:
    """The absolute path of `command`. A name with a slash is a path (relative to `base_dir`);
    a bare name is searched for in `search_dirs(path)`. Raises CommandNotFound."""
    expanded = os.path.expanduser(command)
    if os.sep in expanded or (os.altsep and os.altsep in expanded):
        candidate = Path(base_dir or ".", expanded) if not os.path.isabs(expanded) else Path(expanded)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        raise CommandNotFound(f"command {command!r} is not an executable file ({candidate})")
    dirs = search_dirs(path)
    found = shutil.which(expanded, path=os.pathsep.join(dirs))
    if found is None:
        shown = ", ".join(dirs)
        raise CommandNotFound(f"command {command!r} not found (searched {shown})")
    return os.path.abspath(found)


def child_path(resolved: str, path: str | None) -> str:
    """The child's PATH with the directory its command came from in front."""
    parts = [str(Path(resolved).parent)] + [d for d in (path or "").split(os.pathsep) if d]
    return os.pathsep.join(dict.fromkeys(parts))
