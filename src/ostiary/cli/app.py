"""The Typer application: every subcommand but the hot `run` path (see cli/__init__.py)."""

from __future__ import annotations

import importlib

import typer

# Sub-applications, each a module exporting `app: typer.Typer`, mounted under this name.
SUBCOMMANDS: dict[str, str] = {
    "policy": "ostiary.cli.policy",
    "audit": "ostiary.cli.audit",
    "pins": "ostiary.cli.pins",
    "inventory": "ostiary.cli.inventory",
    "detect": "ostiary.cli.detect",
}

# Single commands, each a module exporting `command(...)`, registered under this name.
COMMANDS: dict[str, str] = {
    "serve": "ostiary.cli.serve",
    "run": "ostiary.cli.run",
    "import": "ostiary.cli.hostimport",
}


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="ostiary",
        help="Ostiary: a security gateway for MCP. Every call decided, recorded and explained.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name, module in COMMANDS.items():
        app.command(name)(importlib.import_module(module).command)
    for name, module in SUBCOMMANDS.items():
        app.add_typer(importlib.import_module(module).app, name=name)
    return app
