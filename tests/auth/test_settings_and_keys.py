"""Unsafe authentication setups are refused at load; API keys are stored and checked as hashes."""

from __future__ import annotations

from typing import Any

import pytest

from ostiary import config as config_module
from ostiary.auth import AuthError, build_authenticator
from ostiary.auth.apikeys import hash_key, main, mint
from ostiary.config import ConfigError

CONFIG = config_module.parse("")
BASE: dict[str, Any] = {
    "resource": "https://gw.example.test/mcp",
    "authorization_servers": ["https://idp.example.test"],
    "jwt": {"issuer": "https://idp.example.test", "jwks_url": "https://idp.example.test/jwks"},
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"jwt": {**BASE["jwt"], "algorithms": ["RS256", "HS256"]}}, "refused: ['HS256']"),
        ({"jwt": {**BASE["jwt"], "algorithms": ["none"]}}, "refused: ['none']"),
        ({"jwt": {**BASE["jwt"], "jwks_url": "http://idp.example.test/jwks"}}, "jwks_url must be https"),
        ({"resource": "https://GW.example.test/mcp"}, "canonical"),
        ({"resource": "https://gw.example.test/mcp?x=1"}, "query or fragment"),
        ({"authorization_servers": []}, "authorization_servers"),
        ({"jwt": None}, "needs 'jwt' or 'api_keys'"),
    ],
)
def test_an_unsafe_auth_section_is_refused_at_load(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match="auth") as caught:
        build_authenticator({**BASE, **change}, CONFIG)
    assert message in str(caught.value)


def test_no_auth_section_means_no_authenticator() -> None:
    assert build_authenticator({}, CONFIG) is None


def api_key_authenticator(digest: str) -> Any:
    section = {
        "resource": "https://gw.example.test/mcp",
        "api_keys": [{"id": "ci", "hash": digest, "subject": "deploy-bot", "groups": ["ops"]}],
    }
    return build_authenticator(section, CONFIG)


async def test_a_minted_api_key_authenticates_its_service_account() -> None:
    key, digest = mint("ci")
    assert key not in digest
    auth = api_key_authenticator(digest)
    principal = await auth.authenticate({"Authorization": f"Bearer {key}"}, {})
    assert (principal.subject, principal.groups, principal.method) == ("deploy-bot", {"ops"}, "api_key")
    assert (await auth.authenticate({"X-API-Key": key}, {})).subject == "deploy-bot"


@pytest.mark.parametrize("presented", ["ostk_ci_wrong", "ostk_other_x", "ostk_ci", "ostk_"])
async def test_a_wrong_api_key_is_refused(presented: str) -> None:
    _, digest = mint("ci")
    with pytest.raises(AuthError) as caught:
        await api_key_authenticator(digest).authenticate({"Authorization": f"Bearer {presented}"}, {})
    assert caught.value.status == 401
    assert presented not in str(caught.value)


def test_a_config_holding_a_raw_key_instead_of_its_hash_is_refused() -> None:
    key, _ = mint("ci")
    with pytest.raises(ConfigError, match="hash") as caught:
        api_key_authenticator(key)
    assert key not in str(caught.value)


def test_the_mint_command_prints_a_key_and_its_hash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ci"]) == 0
    out = capsys.readouterr().out
    key = out.split("): ")[1].split()[0]
    assert hash_key(key) in out
