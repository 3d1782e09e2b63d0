"""The `ostiary` command.

`ostiary run` is what a desktop host launches on every session, so it is dispatched before Typer
and Rich are imported: start-up time is part of the user's experience there. `ostiary serve` with
plain options skips Typer too: Typer's parameter coercion loads pydantic, which a long-running
server would keep in memory for nothing (help and errors still come from Typer).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from ostiary import __version__  # noqa: PLC0415

        print(f"ostiary {__version__}")
        return
    if args[:1] == ["run"] and not ({"--help", "-h"} & set(args)):
        from ostiary.cli.run import main as run_main  # noqa: PLC0415

        raise SystemExit(run_main(args[1:]))
    if args[:1] == ["serve"]:
        from ostiary.cli import serve  # noqa: PLC0415

        plain = serve.plain_arguments(args[1:])
        if plain is not None:
            serve.command(**plain)
            return
    from ostiary.cli.app import build_app  # noqa: PLC0415

    build_app(args[0] if args else None)(args, prog_name="ostiary")
