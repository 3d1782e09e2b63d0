"""Configuration: Ostiary's YAML and the mcpServers JSON hosts already use; errors name key and line."""

import json
from pathlib import Path

import pytest

from ostiary import config
from ostiary.config import ConfigError


def test_yaml_servers_of_every_kind_load() -> None:
    cfg = config.parse(
        """
servers:
  files: {command: npx, args: [-y, server-filesystem, /tmp], env: {TOKEN: "${env:FS_TOKEN}"}}
  remote: {url: "https://mcp.example.com/mcp", headers: {Authorization: "Bearer ${file:/run/token}"}}
  old: {url: "http://127.0.0.1:3002/sse", transport: sse}
"""
    )
    assert {n: s.kind for n, s in cfg.servers.items()} == {
        "files": "stdio",
        "remote": "streamable-http",
        "old": "sse",
    }
    # References stay references until a connection is built.
    assert cfg.servers["files"].env["TOKEN"] == "${env:FS_TOKEN}"


def test_an_error_names_the_key_and_the_line() -> None:
    text = "servers:\n  a:\n    command: x\n  b:\n    url: ftp://nope\n"
    with pytest.raises(ConfigError) as caught:
        config.parse(text, "gw.yaml")
    message = str(caught.value)
    assert "gw.yaml" in message and "line 4" in message and "servers.b" in message


def test_unknown_keys_are_refused_rather_than_ignored() -> None:
    with pytest.raises(ConfigError, match="comand"):
        config.parse("servers:\n  a:\n    comand: x\n")


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="duplicate key"):
        config.parse("servers:\n  a: {command: x}\n  a: {command: y}\n")


def test_a_server_needs_exactly_one_of_command_and_url() -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        config.parse("servers:\n  a: {command: x, url: 'http://h/mcp'}\n")


def test_server_names_and_prefixes_are_restricted_and_unique() -> None:
    with pytest.raises(ConfigError, match="server name"):
        config.parse("servers:\n  'a_b': {command: x}\n")
    with pytest.raises(ConfigError, match="share the prefix"):
        config.parse("servers:\n  a: {command: x, prefix: p}\n  b: {command: y, prefix: p}\n")


def test_the_hosts_mcp_servers_json_is_read_as_is(tmp_path: Path) -> None:
    claude = {
        "mcpServers": {
            "filesystem": {
                "command": "npx",
                "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
            },
            "my_remote": {"type": "http", "url": "https://example.com/mcp", "headers": {"X-Key": "k"}},
            "legacy": {"type": "sse", "url": "https://example.com/sse"},
            "off": {"command": "x", "disabled": True},
        }
    }
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps(claude))
    cfg = config.load(path)
    assert sorted(cfg.servers) == ["filesystem", "legacy", "my-remote", "off"]
    assert cfg.servers["legacy"].kind == "sse"
    assert cfg.servers["my-remote"].headers == {"X-Key": "k"}
    assert cfg.servers["off"].enabled is False


def test_the_store_location_comes_from_the_environment_first(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config.parse("store: sqlite+aiosqlite:///from-config.db\n")
    monkeypatch.setenv("OSTIARY_STORE", "postgresql+asyncpg://127.0.0.1/ostiary")
    assert cfg.store_url() == "postgresql+asyncpg://127.0.0.1/ostiary"
    monkeypatch.delenv("OSTIARY_STORE")
    assert cfg.store_url() == "sqlite+aiosqlite:///from-config.db"


def test_the_default_store_is_sqlite_in_the_user_data_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OSTIARY_STORE", raising=False)
    url = config.Config().store_url()
    assert url.startswith("sqlite+aiosqlite:///") and url.endswith("ostiary.db")
