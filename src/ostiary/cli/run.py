"""`ostiary run`: serve one host over stdio. Parsed without Typer so a host's launch stays fast."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from ostiary.config import ConfigError

if TYPE_CHECKING:
    import argparse

DEFAULT_CONFIG_ENV = "OSTIARY_CONFIG"


def setup_logging(level: str) -> None:
    """Logs go to stderr: stdout belongs to the protocol. Every record passes the secret redactor."""
    from ostiary.secretref import RedactingFilter  # noqa: PLC0415

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # One line per upstream HTTP request is noise at INFO; failures still surface as our own warnings.
    for noisy in ("httpx2", "httpcore2", "httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (not on Windows): the event loop's own work (polling, pipe and
    socket writes, callbacks) is a large share of a call's CPU in the gateway, and uvloop does it in
    C. Its subprocesses keep what stdio servers rely on (process groups, the parent-death signal)."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        return None
    return uvloop.new_event_loop


def parser() -> argparse.ArgumentParser:
    import argparse  # noqa: PLC0415  (not for `ostiary serve`, which imports this module too)

    p = argparse.ArgumentParser(prog="ostiary run", description="Serve one MCP host over stdio.")
    p.add_argument(
        "--config", "-c", default=os.environ.get(DEFAULT_CONFIG_ENV), help="YAML or mcpServers JSON"
    )
    p.add_argument("--log-level", default=os.environ.get("OSTIARY_LOG_LEVEL", "info"))
    return p


async def _serve(config_path: str | None) -> None:
    from ostiary import config as config_module  # noqa: PLC0415
    from ostiary.client_side.stdio import serve_stdio  # noqa: PLC0415
    from ostiary.gateway import Gateway  # noqa: PLC0415
    from ostiary.identity import host_principal  # noqa: PLC0415

    cfg = config_module.load(config_path) if config_path else config_module.Config()
    principal = host_principal(cfg.identity.subject, cfg.identity.groups)
    gateway = Gateway(cfg)
    try:
        await serve_stdio(gateway, principal)
    finally:
        await gateway.close()


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.log_level)
    if sys.stdin.isatty():
        print(
            "ostiary run serves one MCP host over stdio: a host (Claude Desktop, Cursor, …) launches it "
            "and speaks JSON-RPC on stdin/stdout. Waiting for messages here; Ctrl-D ends.",
            file=sys.stderr,
        )
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(_serve(args.config))
    except ConfigError as exc:
        print(f"ostiary: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from ostiary.store.base import StoreError  # noqa: PLC0415  (the store loads SQLAlchemy)

        if not isinstance(exc, StoreError):
            raise
        print(f"ostiary: {exc}; refusing to serve without an audit log", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
