"""Secrets through `ostiary run`, seen by the official SDK client in front of the real
server-filesystem: a credential in `write_file`'s content is not written, and the model reads
why in the tool's result; a team that chooses to redact that tool's arguments gets the file
written redacted, with the redaction in the audit record; a key read back from disk is redacted
on its way to the model; and a redacted structured result still validates against the tool's
output schema in the SDK client."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

PROFILE = Path(__file__).resolve().parent.parent / "fixtures" / "profile_server.py"
# A random value in GitHub's documented token format; not a real credential.
TOKEN = "ghp_" + "Zx9qT4mLp2Rw8YbN3vKcA1sD5fG7hJ0kL2qW"


def gateway(
    tmp_path: Path,
    peers_dir: Path,
    ostiary_command: list[str],
    write_config: Callable[..., Path],
    secrets: dict[str, Any],
) -> tuple[Client, Path]:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    server = peers_dir / "@modelcontextprotocol" / "server-filesystem" / "dist" / "index.js"
    spec: dict[str, Any] = {
        "servers": {"fs": {"command": "node", "args": [str(server), str(root)]}},
        "inspections": [{"name": "secrets", **secrets}],
    }
    config = write_config(spec)
    command, *prefix = ostiary_command
    params = StdioServerParameters(command=command, args=[*prefix, "run", "--config", str(config)])
    return Client(params, mode="legacy"), config


def audit(ostiary_command: list[str], config: Path, *filters: str) -> list[dict[str, Any]]:
    """The audit records `ostiary audit export` gives for these filters (`--code x`, ...)."""
    out = subprocess.run(
        [*ostiary_command, "audit", "export", "--config", str(config), *filters],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


async def test_a_token_in_write_file_content_is_not_written_and_the_model_is_told_why(
    tmp_path: Path, peers_dir: Path, ostiary_command: list[str], write_config: Callable[..., Path]
) -> None:
    client, config = gateway(tmp_path, peers_dir, ostiary_command, write_config, {})
    target = tmp_path / "root" / "deploy.env"
    async with client:
        result = await client.call_tool("fs__write_file", {"path": str(target), "content": f"GH={TOKEN}\n"})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "argument /content holds credential (secret.github-pat)" in text
    assert TOKEN not in text
    assert not target.exists()
    records = audit(ostiary_command, config, "--code", "secrets.blocked")
    assert len(records) == 1
    assert TOKEN not in json.dumps(records)


async def test_redacting_a_tools_arguments_is_an_explicit_choice_and_is_audited(
    tmp_path: Path, peers_dir: Path, ostiary_command: list[str], write_config: Callable[..., Path]
) -> None:
    options = {"redact_arguments": ["fs/write_file"], "actions": {"secret.*": {"arguments": "redact"}}}
    client, config = gateway(tmp_path, peers_dir, ostiary_command, write_config, options)
    target = tmp_path / "root" / "deploy.env"
    async with client:
        result = await client.call_tool("fs__write_file", {"path": str(target), "content": f"GH={TOKEN}\n"})
    assert not result.is_error
    assert target.read_text() == "GH=[REDACTED:secret.github-pat]\n"
    records = audit(ostiary_command, config, "--code", "secrets.redacted")
    assert len(records) == 1
    (finding,) = records[0]["ostiary"]["details"]["findings"]
    assert (finding["path"], finding["rule"], finding["action"]) == (
        "/content",
        "secret.github-pat",
        "redact",
    )
    assert TOKEN not in json.dumps(records)


async def test_a_token_read_from_disk_is_redacted_before_the_model_sees_it(
    tmp_path: Path, peers_dir: Path, ostiary_command: list[str], write_config: Callable[..., Path]
) -> None:
    client, _ = gateway(tmp_path, peers_dir, ostiary_command, write_config, {})
    source = tmp_path / "root" / "old.env"
    source.write_text(f"GH={TOKEN}\nREGION=eu-west-1\n")
    async with client:
        result = await client.call_tool("fs__read_text_file", {"path": str(source)})
    assert not result.is_error
    text = json.dumps([block.model_dump() for block in result.content])
    assert TOKEN not in text
    assert "[REDACTED:secret.github-pat]" in text
    assert "REGION=eu-west-1" in text


async def test_a_redacted_structured_result_validates_against_the_tools_output_schema(
    ostiary_command: list[str], write_config: Callable[..., Path]
) -> None:
    spec: dict[str, Any] = {
        "servers": {"crm": {"command": sys.executable, "args": [str(PROFILE)]}},
        "inspections": [{"name": "secrets"}],
    }
    config = write_config(spec)
    command, *prefix = ostiary_command
    params = StdioServerParameters(command=command, args=[*prefix, "run", "--config", str(config)])
    async with Client(params, mode="legacy") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        schema = tools["crm__lookup_customer"].output_schema
        # The SDK client validates structured content against the output schema on every call.
        result = await client.call_tool("crm__lookup_customer", {"customer_id": 7})
    assert schema is not None and schema["properties"]["email"]["type"] == "string"
    assert not result.is_error
    assert result.structured_content == {
        "id": 7,
        "name": "Anna Novak",
        "email": "[REDACTED:pii.email]",
        "iban": "[REDACTED:pii.iban]",
        "age": 41,
        "api_token": "[REDACTED:secret.github-pat]",
        "tags": ["gold"],
    }
    assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]


async def test_a_warned_argument_goes_through_and_is_noted_in_the_audit_record(
    tmp_path: Path, peers_dir: Path, ostiary_command: list[str], write_config: Callable[..., Path]
) -> None:
    options = {"actions": {"pii.*": {"arguments": "warn"}}}
    client, config = gateway(tmp_path, peers_dir, ostiary_command, write_config, options)
    target = tmp_path / "root" / "contacts.txt"
    async with client:
        result = await client.call_tool(
            "fs__write_file", {"path": str(target), "content": "anna.novak@posteo.de\n"}
        )
    assert not result.is_error
    assert target.read_text() == "anna.novak@posteo.de\n"
    records = audit(ostiary_command, config, "--tool", "write_file")
    noted = [n for r in records for n in r["ostiary"].get("noted", [])]
    assert [(n["code"], n["details"]["findings"][0]["rule"]) for n in noted] == [
        ("secrets.warned", "pii.email")
    ]
    # The address went through, as configured, but the audit record does not keep it.
    assert "anna.novak" not in json.dumps(records)


async def test_a_blocked_token_the_audit_redactor_has_no_pattern_for_is_not_kept_in_the_record(
    tmp_path: Path, peers_dir: Path, ostiary_command: list[str], write_config: Callable[..., Path]
) -> None:
    stripe = "sk_live_" + "Zx9qT4mLp2Rw8YbN3vKcA1sD"
    client, config = gateway(tmp_path, peers_dir, ostiary_command, write_config, {})
    async with client:
        result = await client.call_tool(
            "fs__write_file", {"path": str(tmp_path / "root" / "x"), "content": stripe}
        )
    assert result.is_error
    records = audit(ostiary_command, config, "--code", "secrets.blocked")
    assert records[0]["ostiary"]["args"]["content"] == "[REDACTED:secret.stripe-access-token]"
    assert stripe not in json.dumps(records)
