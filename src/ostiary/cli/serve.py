"""`ostiary serve`: the Streamable HTTP gateway for many clients."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
import sys
from typing import Annotated, Any

from ostiary.cli.run import DEFAULT_CONFIG_ENV, event_loop_factory, setup_logging
from ostiary.config import Config, ConfigError

log = logging.getLogger("ostiary.serve")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def serve(cfg: Config, host: str, port: int) -> None:
    import uvicorn  # noqa: PLC0415

    from ostiary.client_side.http import HttpFront  # noqa: PLC0415
    from ostiary.gateway import Gateway  # noqa: PLC0415
    from ostiary.identity import host_principal  # noqa: PLC0415

    authenticator = None
    if cfg.auth:  # token validation pulls in cryptography: only when configured
        from ostiary.auth import build_authenticator  # noqa: PLC0415

        authenticator = build_authenticator(cfg.auth, cfg)
    if authenticator is None and not _is_loopback(host):
        if not cfg.listen.unsafe_allow_unauthenticated:
            raise ConfigError(
                f"refusing to serve on {host} without authentication: configure `auth:` "
                "or set listen.unsafe_allow_unauthenticated"
            )
        log.warning(
            "UNSAFE: serving on %s without authentication (listen.unsafe_allow_unauthenticated)", host
        )
    if cfg.listen.unsafe_disable_origin_checks:
        log.warning("UNSAFE: Origin and Host checks are off (listen.unsafe_disable_origin_checks)")
    local = host_principal(cfg.identity.subject, cfg.identity.groups) if authenticator is None else None
    front = HttpFront(Gateway(cfg), authenticator, local)
    server = uvicorn.Server(
        uvicorn.Config(
            front.app(),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            proxy_headers=False,  # the front reads neither the client address nor the scheme
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )
    announce = asyncio.create_task(_announce(server, cfg.listen.path))
    try:
        await server.serve()
    finally:
        announce.cancel()


async def _announce(server: Any, path: str) -> None:
    """One line once the socket is bound, with the port the OS chose for `--port 0`."""
    for _ in range(600):
        if server.started:
            for listener in server.servers:
                for sock in listener.sockets:
                    host, port = sock.getsockname()[:2]
                    shown = f"[{host}]" if ":" in host else host
                    log.info("listening on http://%s:%d%s", shown, port, path)
            return
        await asyncio.sleep(0.05)


# The options of `command`, by every spelling; the value is the keyword it is passed as.
OPTIONS = {
    "--config": "config",
    "-c": "config",
    "--host": "host",
    "--port": "port",
    "--log-level": "log_level",
}
PORT = re.compile(r"[0-9]{1,5}")
MAX_PORT = 65535


def plain_arguments(argv: list[str]) -> dict[str, Any] | None:
    """The options of `ostiary serve` when every one is plain (`--port 8080`, `--config=x.yaml`).

    Given these, `command` is called without Typer: Typer's parameter coercion loads pydantic,
    memory a long-running server would carry for nothing. Anything else (help, an unknown option,
    a value that needs converting or reporting) gives None, and Typer parses it and answers.
    """
    found: dict[str, Any] = {}
    tokens = iter(argv)
    for token in tokens:
        name, equals, value = token.partition("=")
        if name not in OPTIONS or (equals and not name.startswith("--")):
            return None
        if not equals:
            value = next(tokens, "-")
        if value.startswith("-"):
            return None
        key = OPTIONS[name]
        if key == "port":
            if not PORT.fullmatch(value) or int(value) > MAX_PORT:
                return None  # Typer refuses it, naming the range
            found[key] = int(value)
        else:
            found[key] = value
    return found


def _option(*names: str, **settings: Any) -> Any:
    """`typer.Option`, made when Typer reads `command`'s signature: with plain options `serve`
    never loads Typer and Click, which it would hold for its whole life."""
    import typer  # noqa: PLC0415

    return typer.Option(*names, **settings)


def command(
    config: Annotated[str | None, _option("--config", "-c", help="YAML or mcpServers JSON")] = None,
    host: Annotated[str | None, _option(help="Address to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, _option(help="Port (default 8765)", min=0, max=MAX_PORT)] = None,
    log_level: Annotated[str, _option(help="debug, info, warning, error")] = "info",
) -> None:
    """Serve Streamable HTTP at /mcp for many clients (Origin/Host checks on, loopback by default)."""
    from ostiary import config as config_module  # noqa: PLC0415

    setup_logging(log_level)
    path = config or os.environ.get(DEFAULT_CONFIG_ENV)
    try:
        if port is not None and not 0 <= port <= MAX_PORT:
            raise ConfigError(f"--port {port}: a port is a number from 0 to {MAX_PORT}")
        cfg = config_module.load(path) if path else Config()
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(serve(cfg, host or cfg.listen.host, cfg.listen.port if port is None else port))
    except ConfigError as exc:
        print(f"ostiary: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
