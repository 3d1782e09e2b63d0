"""`ostiary keys create | list | revoke`: API keys for service accounts (`auth.api_keys`).

A key is shown once, at creation; the configuration keeps only its hash. `revoke` removes the
entry from the configuration file in place (comments and the rest of the file untouched); a
running gateway keeps the keys it loaded until it is restarted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from ostiary.cli.storeopts import fail

app = typer.Typer(help="API keys for service accounts (auth.api_keys).", no_args_is_help=True)
ConfigFile = Annotated[
    Path, typer.Option("--config", "-c", help="The gateway's configuration file.", exists=True)
]


def _keys(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    auth = data.get("auth") if isinstance(data, dict) else None
    keys = auth.get("api_keys") if isinstance(auth, dict) else None
    return [k for k in keys if isinstance(k, dict)] if isinstance(keys, list) else []


@app.command("create")
def create_command(
    key_id: Annotated[str, typer.Argument(help="A short name for the key (letters, digits, '-').")],
    subject: Annotated[str, typer.Option(help="Who the key authenticates as.")],
    group: Annotated[list[str] | None, typer.Option(help="A group of the subject (repeatable).")] = None,
    client_id: Annotated[str | None, typer.Option(help="The client id policy rules can match.")] = None,
) -> None:
    """Mint a key: print it once, and the entry to add under `auth.api_keys`."""
    from ostiary.auth.apikeys import mint  # noqa: PLC0415

    if not key_id.replace("-", "").isalnum() or len(key_id) > 32:
        raise fail("the key id must be up to 32 letters, digits or '-'")
    key, digest = mint(key_id)
    entry: dict[str, Any] = {"id": key_id, "hash": digest, "subject": subject, "groups": group or []}
    if client_id:
        entry["client_id"] = client_id
    typer.echo(f"key (give it to the client; it is not stored and cannot be shown again): {key}")
    typer.echo("add to the configuration:\nauth:\n  api_keys:")
    typer.echo(
        "    - " + yaml.safe_dump(entry, default_flow_style=True, sort_keys=False, width=10_000).strip()
    )


@app.command("list")
def list_command(config: ConfigFile) -> None:
    """List the configured keys (never a hash in full)."""
    keys = _keys(config)
    if not keys:
        typer.echo("no API keys configured")
        return
    for key in keys:
        groups = ",".join(str(g) for g in key.get("groups") or [])
        digest = str(key.get("hash", ""))[:19]
        typer.echo(f"{key.get('id')}\tsubject={key.get('subject')}\tgroups={groups}\thash={digest}…")


@app.command("revoke")
def revoke_command(
    key_id: Annotated[str, typer.Argument(help="The key's id.")],
    config: ConfigFile,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Revoke without asking.")] = False,
) -> None:
    """Remove a key from the configuration file."""
    text = config.read_text(encoding="utf-8")
    span = _entry_span(text, key_id)
    if span is None:
        raise fail(f"no API key {key_id!r} in {config} (or it is written inline: remove it by hand)")
    if not yes and not typer.confirm(f"Revoke API key {key_id}?"):
        raise typer.Exit(1)
    start, end = span
    updated = text[:start] + text[end:]
    tmp = config.with_name(f".{config.name}.ostiary-tmp")
    tmp.write_text(updated, encoding="utf-8")
    tmp.chmod(config.stat().st_mode & 0o777)
    tmp.replace(config)
    typer.echo(
        f"revoked {key_id} in {config}; a running gateway refuses it once it reloads its configuration"
    )


def _entry_span(text: str, key_id: str) -> tuple[int, int] | None:
    """Where the block-style list item for `key_id` is in the text: from its line's start to the
    line after its end."""
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return None
    auth = _child(root, "auth")
    keys = _child(auth, "api_keys") if isinstance(auth, yaml.MappingNode) else None
    if not isinstance(keys, yaml.SequenceNode) or keys.flow_style:
        return None
    for item in keys.value:
        if isinstance(item, yaml.MappingNode):
            found = _child(item, "id")
            if isinstance(found, yaml.ScalarNode) and found.value == key_id:
                start = text.rfind("\n", 0, item.start_mark.index) + 1
                # A block mapping ends where the next token starts (often the next item's "- ").
                line = text.rfind("\n", 0, item.end_mark.index) + 1
                if text[line : item.end_mark.index].strip() in ("", "-"):
                    return start, line
                end = text.find("\n", item.end_mark.index)
                return start, len(text) if end < 0 else end + 1
    return None


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value  # type: ignore[no-any-return]
    return None
