"""`ostiary serve` with plain options starts without Typer, and means exactly what Typer would parse."""

from __future__ import annotations

from typing import Any

import pytest

from ostiary import cli
from ostiary.cli import serve
from ostiary.config import Config

PLAIN = [
    [],
    ["--port", "9000"],
    ["--port=0080", "--host", "0.0.0.0"],
    ["-c", "gw.yaml", "--log-level", "debug"],
    ["--config=gw.yaml", "--host=::1", "--port", "1", "--port", "2"],
    ["--config", ""],
]
NOT_PLAIN = [
    ["--help"],
    ["--port", "eighty"],
    ["--port", "-1"],
    ["--prot", "80"],
    ["-c=gw.yaml"],
    ["-cgw.yaml"],
    ["--config"],
    ["--config", "--port"],
    ["extra"],
]


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """What `ostiary serve` would start, recorded instead of started."""
    seen: list[tuple[Any, ...]] = []

    async def record(cfg: Config, host: str, port: int) -> None:
        seen.append((cfg.base_dir, cfg.name, host, port))

    monkeypatch.setattr(serve, "serve", record)
    monkeypatch.setattr(serve, "setup_logging", lambda level: seen.append(("log", level)))
    monkeypatch.setattr("ostiary.config.load", lambda path: Config(name=f"from {path}"))
    return seen


def _through_typer(argv: list[str]) -> None:
    from ostiary.cli.app import build_app

    with pytest.raises(SystemExit) as done:
        build_app("serve")(["serve", *argv], prog_name="ostiary")
    assert done.value.code in (0, None)


@pytest.mark.parametrize("argv", PLAIN)
def test_plain_options_start_what_typer_would_start(argv: list[str], started: list[Any]) -> None:
    assert serve.plain_arguments(argv) is not None
    cli.main(["serve", *argv])
    plain = list(started)
    started.clear()
    _through_typer(argv)
    assert plain == started and plain


@pytest.mark.parametrize("argv", NOT_PLAIN)
def test_anything_else_is_left_to_typer(argv: list[str]) -> None:
    assert serve.plain_arguments(argv) is None
