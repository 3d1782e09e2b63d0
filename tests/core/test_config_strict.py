"""Configuration errors are loud: a misspelled key anywhere (a section, a server, an inspection's
options) is refused with the key, its line and the nearest valid name, never silently ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from ostiary import config

CASES = [
    ("inspections:\n  - name: secrets\n    acton: block\n", 3, "inspections.0.acton", "action"),
    ("inspections:\n  - {name: injection, treshold: 0.9}\n", 2, "inspections.0.treshold", "threshold"),
    ("inspections:\n  - {name: poisoning, actoin: warn}\n", 2, "inspections.0.actoin", "action"),
    ("inspections:\n  - {name: pinning, tennant: t}\n", 2, "inspections.0.tennant", "tenant"),
    ("inspections:\n  - {name: policy, flie: p.yaml}\n", 2, "inspections.0.flie", "file"),
    ("inspections:\n  - {name: toolfilter, mdoe: monitor}\n", 2, "inspections.0.mdoe", "mode"),
    ("audit:\n  spol: false\n", 2, "audit.spol", "spool"),
    ("audit:\n  witness:\n    webhok: https://x\n", 3, "audit.witness.webhok", "webhook"),
    ("policy:\n  watc: false\n", 2, "policy.watc", "watch"),
    ("pinning:\n  mdoe: quarantine\n", 2, "pinning.mdoe", "mode"),
    ("listen:\n  prot: 9000\n", 2, "listen.prot", "port"),
    ("limits:\n  max_message_byte: 2048\n", 2, "limits.max_message_byte", "max_message_bytes"),
    ("identity:\n  subjet: alice\n", 2, "identity.subjet", "subject"),
    ("servers:\n  a:\n    comand: x\n", 3, "servers.a.comand", "command"),
    ("servers:\n  a:\n    command: x\n    tools: {alow: ['*']}\n", 4, "servers.a.tools.alow", "allow"),
    ("inspectons:\n  - {name: toolfilter}\n", 1, "inspectons", "inspections"),
]


@pytest.mark.parametrize(("text", "line", "key", "nearest"), CASES)
def test_an_unknown_key_is_refused_with_its_line_and_the_nearest_name(
    text: str, line: int, key: str, nearest: str
) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.parse(text, "gw.yaml")
    assert f"gw.yaml: line {line}: {key}: unknown key; did you mean '{nearest}'?" in str(caught.value)


def test_a_wrong_option_value_is_refused_not_replaced_by_the_default() -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.parse("inspections:\n  - {name: secrets, action: blok}\n", "gw.yaml")
    assert "gw.yaml: line 2: inspections.0.action" in str(caught.value)


def test_a_valid_configuration_keeps_its_options_and_sections() -> None:
    text = (
        "inspections:\n  - {name: secrets, action: block, kinds: [secret]}\n"
        "audit: {spool: false, checkpoint_every: 10, witness: {file: w.jsonl, syslog: true}}\n"
        "pinning: {mode: quarantine}\n"
    )
    parsed = config.parse(text)
    assert parsed.inspections[0].options == {"action": "block", "kinds": ["secret"]}
    assert parsed.audit.spool is False and parsed.audit.checkpoint_every == 10
    assert parsed.audit.witness.file == "w.jsonl" and parsed.audit.witness.syslog is True
    assert parsed.pinning.mode == "quarantine"


def test_a_config_file_that_is_not_utf8_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "gw.yaml"
    path.write_bytes(b"servers: {}\nname: caf\xe9\n")
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    assert str(caught.value) == f"{path}: line 2: not UTF-8 text (byte 21)"


def test_an_unknown_auth_key_is_refused_with_its_line_and_the_nearest_name() -> None:
    from ostiary.auth.settings import auth_settings

    text = (
        "auth:\n  resource: http://127.0.0.1/mcp\n  authorization_servers: [http://127.0.0.1/]\n"
        "  jwt: {issuer: x, jwks_url: http://127.0.0.1/k, leway: 3}\n  api_keyz: []\n"
    )
    parsed = config.parse(text, "gw.yaml")
    with pytest.raises(config.ConfigError) as caught:
        auth_settings(parsed.auth, parsed)
    assert str(caught.value).splitlines() == [
        "gw.yaml: line 4: auth.jwt.leway: unknown key; did you mean 'leeway'?",
        "gw.yaml: line 5: auth.api_keyz: unknown key; did you mean 'api_keys'?",
    ]
