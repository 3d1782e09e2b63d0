"""The Typer application: every subcommand but the hot `run` path (see cli/__init__.py)."""

from __future__ import annotations

import importlib

import typer

# Sub-applications, each a module exporting `app: typer.Typer`, mounted under this name.
SUBCOMMANDS: dict[str, str] = {
    "policy": "ostiary.cli.policy",
    "audit": "ostiary.cli.audit",
    "pins": "ostiary.cli.pins",
    "approvals": "ostiary.cli.approvals",
    "inventory": "ostiary.cli.inventory",
    "detect": "ostiary.cli.detect",
    "keys": "ostiary.cli.keys",
}

# Single commands, each a module exporting `command(...)`, registered under this name.
COMMANDS: dict[str, str] = {
    "serve": "ostiary.cli.serve",
    "run": "ostiary.cli.runcommand",
    "import": "ostiary.cli.hostimport",
    "scan": "ostiary.cli.scan",
    "doctor": "ostiary.cli.doctor",
    "demo": "ostiary.cli.demo",
}


def build_app(command: str | None = None) -> typer.Typer:
    """The application; given the command about to run, with that command alone.

    Each command module imports what it needs (the policy engine and CEL, the audit tools, the
    store), so building every one costs `ostiary serve` megabytes and tenths of a second it never
    uses. Help for all commands still comes from the full application (`command` None or unknown).
    """
    app = typer.Typer(
        name="ostiary",
        help="Ostiary: a security gateway for MCP. Every call decided, recorded and explained. "
        "`ostiary --version` prints the version.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
    )
    alone = command in COMMANDS or command in SUBCOMMANDS
    if alone:
        # A Typer app with one command and no callback runs that command without its name.
        app.callback()(_group)
    for name, module in COMMANDS.items():
        if not alone or name == command:
            app.command(name)(importlib.import_module(module).command)
    for name, module in SUBCOMMANDS.items():
        if not alone or name == command:
            app.add_typer(importlib.import_module(module).app, name=name)
    return app


def _group() -> None:
    """Ostiary: a security gateway for MCP. Every call decided, recorded and explained."""
