"""stdio transports: our own stdin/stdout (the front a desktop host launches), and a child process
(an MCP server we launch and supervise).

A child runs in its own process group with a parent-death signal, so neither a crash of the child
nor a SIGKILL of the gateway leaves an orphan behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import stat
import sys
import threading
from typing import Any, BinaryIO, Protocol

from ostiary.messages import Message, ProtocolError, dumps, error, parse
from ostiary.methods import INTERNAL_ERROR
from ostiary.secretref import REDACTOR
from ostiary.transports.base import TransportClosed
from ostiary.transports.command import CommandNotFound, child_path, resolve
from ostiary.transports.framing import Oversize, encode, read_line

log = logging.getLogger("ostiary.transport")

# What a child inherits from the gateway's environment besides its configured `env`: enough to run,
# never the gateway's own credentials. Mirrors the MCP SDKs' default environment.
INHERITED_ENV = (
    "HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ",
    "SYSTEMROOT", "APPDATA", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR",
)  # fmt: skip
STDERR_LINE_LIMIT = 64 * 1024
GRACE_SECONDS = 2.0


@functools.cache
def _libc() -> Any:
    """libc through ctypes, loaded in the gateway with its first stdio server (never in a child:
    an import between fork and exec could wait forever on a lock another thread held)."""
    import ctypes  # noqa: PLC0415

    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(Exception):
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def child_environment(configured: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in INHERITED_ENV}
    env.update(configured)
    return env


class ProcessTransport:
    """A stdio MCP server: spawned on start, one JSON-RPC message per line on its stdin/stdout."""

    def __init__(
        self,
        name: str,
        command: str,
        args: list[str],
        env: dict[str, str],
        cwd: str | None,
        max_message_bytes: int,
        base_dir: str | None = None,
    ) -> None:
        self.name = name
        self.command = command
        self.args = args
        self.env = env
        self.cwd = cwd
        self.max_message_bytes = max_message_bytes
        self.base_dir = base_dir if base_dir is not None else cwd
        self.process: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._server_log = logging.getLogger(f"ostiary.server.{name}")

    async def start(self) -> None:
        env = child_environment(self.env)
        try:
            executable = resolve(self.command, env.get("PATH"), self.base_dir)
        except CommandNotFound as exc:
            raise TransportClosed(str(exc)) from None
        env["PATH"] = child_path(executable, env.get("PATH"))
        if sys.platform == "linux":
            _libc()  # here, so that the child only calls it
        try:
            self.process = await asyncio.create_subprocess_exec(
                executable,
                *self.args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=self.cwd,
                limit=self.max_message_bytes,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        except OSError as exc:
            raise TransportClosed(f"cannot start {self.command!r}: {exc.strerror}") from None
        self._stderr_task = asyncio.create_task(self._pump_stderr(), name=f"stderr:{self.name}")

    async def _pump_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        stream = self.process.stderr
        while True:
            try:
                line = await stream.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    self._log_stderr(exc.partial)
                return
            except asyncio.LimitOverrunError as exc:
                line = await stream.readexactly(exc.consumed)
            except Exception:  # the pipe closed under us
                return
            self._log_stderr(line)

    def _log_stderr(self, line: bytes) -> None:
        text = line[:STDERR_LINE_LIMIT].decode("utf-8", "replace").rstrip()
        if text:
            self._server_log.info("%s", REDACTOR(text))

    async def send(self, message: Message) -> None:
        process = self.process
        if process is None or process.stdin is None or process.returncode is not None:
            raise TransportClosed("server process is not running")
        try:
            process.stdin.write(encode(dumps(message)))
            await process.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise TransportClosed(f"server stdin closed ({type(exc).__name__})") from None

    async def receive(self) -> Message:
        assert self.process is not None and self.process.stdout is not None
        stdout = self.process.stdout
        while True:
            try:
                line = await read_line(stdout)
            except Oversize as exc:
                log.warning("server %s sent %d bytes in one message, over the limit", self.name, exc.size)
                request_id = exc.request_id()
                if request_id is None:
                    continue
                # Most likely the answer to that request: fail it now rather than let it time out.
                text = f"The server's message exceeded the gateway's limit of {self.max_message_bytes} bytes"
                return error(request_id, INTERNAL_ERROR, text)
            except (ConnectionError, asyncio.IncompleteReadError):
                line = None
            if line is None:
                code = await self._exit_code()
                raise TransportClosed(f"server process exited (code {code})")
            if not line.strip():
                continue
            try:
                return parse(line)
            except ProtocolError as exc:
                log.warning(
                    "server %s wrote a line that is not JSON-RPC (%s); dropped", self.name, exc.message
                )

    async def _exit_code(self) -> int | None:
        if self.process is None:
            return None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(GRACE_SECONDS):
                return await self.process.wait()
        return self.process.returncode

    async def close(self) -> None:
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            if process.stdin is not None:
                with contextlib.suppress(Exception):
                    process.stdin.close()
            for sig in (None, signal.SIGTERM, signal.SIGKILL):
                if sig is not None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(process.pid, sig)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(GRACE_SECONDS):
                        await process.wait()
                        break
        # The group may still hold grandchildren (e.g. `npx` -> node); end them too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        if self._stderr_task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                async with asyncio.timeout(GRACE_SECONDS):
                    await self._stderr_task
            self._stderr_task.cancel()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


class _Writer(Protocol):
    def write(self, data: bytes) -> None: ...
    async def drain(self) -> None: ...
    def close(self) -> None: ...


class _FileWriter:
    """stdout redirected to a regular file (not a pipe): plain blocking writes, flushed per message."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.file.flush()

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        self.file.flush()


def is_stream(fd: int) -> bool:
    """Whether `fd` is a pipe or a socket: what an event loop can watch for readiness."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _feed(reader: asyncio.StreamReader, source: BinaryIO) -> None:
    """Copy a file or terminal into `reader` from a daemon thread: a read blocked on a terminal
    must not hold up the gateway's exit, as a thread of the loop's executor would."""
    loop = asyncio.get_running_loop()

    def pump() -> None:
        try:
            while chunk := source.read1(64 * 1024):  # type: ignore[attr-defined]
                loop.call_soon_threadsafe(reader.feed_data, chunk)
        except (OSError, ValueError) as exc:
            log.info("stdin could not be read (%s)", type(exc).__name__)
        finally:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is reading
                loop.call_soon_threadsafe(reader.feed_eof)

    threading.Thread(target=pump, name="ostiary-stdin", daemon=True).start()


class PipeTransport:
    """Our own stdin/stdout, as the stdio front: the host that launched us is the peer."""

    def __init__(self, reader: asyncio.StreamReader, writer: _Writer) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open_std(cls, max_message_bytes: int) -> PipeTransport:
        """Pipes and sockets (what hosts give) are read and written by the event loop; anything
        else (a file, a terminal) by plain reads in a thread and plain writes, which work on every
        loop (uvloop aborts the process if given a regular file as a pipe)."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=max_message_bytes)
        if is_stream(sys.stdin.fileno()):
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
        else:
            _feed(reader, sys.stdin.buffer)
        writer: _Writer
        if is_stream(sys.stdout.fileno()):
            transport, protocol = await loop.connect_write_pipe(
                asyncio.streams.FlowControlMixin, sys.stdout.buffer
            )
            writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        else:
            writer = _FileWriter(sys.stdout.buffer)
        return cls(reader, writer)

    async def start(self) -> None:
        return None

    async def send(self, message: Message) -> None:
        try:
            self.writer.write(encode(dumps(message)))
            await self.writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise TransportClosed(f"client went away ({type(exc).__name__})") from None

    async def read_raw(self) -> bytes | None:
        """The next non-empty line, or None at EOF. Raises Oversize. Parsing is the session's."""
        while True:
            try:
                line = await read_line(self.reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                return None
            if line is None or line.strip():
                return line

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()
