"""The policy in force, swapped whole when its file changes; a bad file keeps the last good one.

Every decision reads `current` once, so a call is judged by one policy or the next, never by half
of each. A change is applied only once the file has read the same twice in a row, so a file
caught mid-write (an editor that truncates before writing) is not mistaken for a short policy;
writing a new file and renaming it over the old one is still the recommended way.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from pathlib import Path

from ostiary.policy.engine import CompiledPolicy
from ostiary.policy.loader import PolicyError, parse

log = logging.getLogger("ostiary.policy")


class PolicySource:
    def __init__(self, path: str | Path, interval: float = 1.0, settle: float = 0.05) -> None:
        self.path = Path(path).expanduser()
        self.interval = interval
        self.settle = settle
        text = self._read()
        # A policy that cannot be loaded at start stops the gateway from starting: fail closed.
        self.current: CompiledPolicy = parse(text, str(self.path))
        self._digest = _digest(text)
        self.last_error: str | None = None
        self.generation = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def version(self) -> str:
        """Which policy text is in force: the same on every replica that loaded the same file."""
        return self._digest[:16]

    def _read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"{self.path}: cannot be read ({exc.strerror})") from None

    def apply(self, text: str) -> bool:
        """Compile `text` and put it in force; on error keep the current policy and say why."""
        digest = _digest(text)
        if digest == self._digest:
            return False
        try:
            if not text.strip():
                # What an editor's save looks like between truncating and writing. Parsed, it would
                # be the default policy, silently replacing the operator's rules.
                raise PolicyError(f"{self.path}: the file is empty")
            compiled = parse(text, str(self.path))
        except PolicyError as exc:
            if self.last_error != str(exc):
                log.warning("policy not reloaded; the last good policy stays in force: %s", exc)
            self.last_error = str(exc)
            self._digest = digest  # do not re-report the same bad file every interval
            return False
        self.current = compiled
        self._digest = digest
        self.last_error = None
        self.generation += 1
        log.info("policy reloaded from %s (%d rules)", self.path, len(compiled.document.rules))
        return True

    async def check(self) -> bool:
        """Reload if the file changed and has stopped changing."""
        try:
            first = await asyncio.to_thread(self._read)
            if _digest(first) == self._digest:
                return False
            await asyncio.sleep(self.settle)
            second = await asyncio.to_thread(self._read)
        except PolicyError as exc:
            if self.last_error != str(exc):
                log.warning("policy not reloaded; the last good policy stays in force: %s", exc)
            self.last_error = str(exc)
            return False
        if first != second:
            return False  # still being written; look again next interval
        return await asyncio.to_thread(self.apply, second)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:
                log.exception("policy watcher failed; the last good policy stays in force")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch(), name="policy-watch")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
