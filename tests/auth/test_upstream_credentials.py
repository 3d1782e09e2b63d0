"""Brokered upstream credentials: each upstream receives a credential for the calling user, and no
client-visible message, log line, error or repr carries it, nor is the client's token passed on."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest

from auth.issuer import token_endpoint_reply
from auth.loopback import serve_json
from ostiary import config as config_module
from ostiary import secretref
from ostiary.auth.upstream_credentials import CredentialBroker, UpstreamCredentialError, build_broker
from ostiary.config import ConfigError
from ostiary.identity import Principal

ALICE = Principal("alice", frozenset({"dev"}), method="jwt")
BOB = Principal("bob", frozenset({"dev"}), method="jwt")


TICKETS = 'servers:\n  tickets: {url: "http://127.0.0.1:9/mcp"}\nauth:\n  upstreams:\n    tickets:\n'


def broker(text: str, tmp_path: Path) -> CredentialBroker:
    return build_broker(config_module.parse(text, "ostiary.yaml", str(tmp_path)))


async def test_token_exchange_gives_the_upstream_its_own_token_and_nothing_leaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client_secret = "cs-" + secrets.token_hex(16)
    monkeypatch.setenv("OSTIARY_TEST_CLIENT_SECRET", client_secret)
    user_token = "eyJ-user-token-" + secrets.token_hex(16)
    caplog.set_level(logging.DEBUG)
    with serve_json(token_endpoint_reply(client_secret)) as idp, serve_json() as upstream:
        credentials_broker = broker(
            f"""
servers:
  tickets: {{url: "{upstream.url}/mcp"}}
auth:
  upstreams:
    tickets:
      token_exchange:
        token_endpoint: {idp.url}/token
        client_id: ostiary
        client_secret: "${{env:OSTIARY_TEST_CLIENT_SECRET}}"
        audience: tickets-api
        resource: {upstream.url}/mcp
""",
            tmp_path,
        )
        creds = await credentials_broker.credentials_for("tickets", ALICE, subject_token=user_token)
        async with httpx2.AsyncClient() as client:
            await client.post(f"{upstream.url}/mcp", headers=creds.headers, json={"jsonrpc": "2.0"})
        again = await credentials_broker.credentials_for("tickets", ALICE, subject_token=user_token)

    exchanged = creds.headers["Authorization"].removeprefix("Bearer ")
    assert exchanged.startswith("upstream-")
    # The identity provider saw the user's token, the audience and the resource (RFC 8707).
    form = idp.seen[0]["form"]
    assert form["subject_token"] == [user_token]
    assert form["audience"] == ["tickets-api"]
    assert form["resource"] == [f"{upstream.url}/mcp"]
    # The upstream received the exchanged token and never the user's.
    assert upstream.seen[0]["headers"]["Authorization"] == f"Bearer {exchanged}"
    assert user_token not in json.dumps(upstream.seen)
    # Cached until shortly before it expires: one exchange for two connections.
    assert len(idp.seen) == 1
    assert again.headers == creds.headers
    # Nothing a log, an error or a repr shows carries any of the three secrets.
    for value in (exchanged, client_secret, user_token):
        assert value not in caplog.text
        assert value not in repr(creds)
        assert value not in str(creds)
    assert secretref.REDACTOR(f"x {exchanged} y") == "x [REDACTED] y"


async def test_a_refused_exchange_says_why_without_echoing_anything(tmp_path: Path) -> None:
    user_token = "eyJ-user-token-" + secrets.token_hex(16)

    def reply(record: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 400, {"error": "invalid_grant", "error_description": f"bad token {user_token}"}

    with serve_json(reply) as idp:
        credentials_broker = broker(
            f"""
servers:
  tickets: {{url: "http://127.0.0.1:9/mcp"}}
auth:
  upstreams:
    tickets:
      token_exchange: {{token_endpoint: "{idp.url}/token", client_id: ostiary}}
""",
            tmp_path,
        )
        with pytest.raises(UpstreamCredentialError) as caught:
            await credentials_broker.credentials_for("tickets", ALICE, subject_token=user_token)
    assert "invalid_grant" in str(caught.value)
    assert user_token not in str(caught.value)
    assert idp.seen[0]["form"]["client_id"] == ["ostiary"]


async def test_token_exchange_without_the_callers_token_is_refused(tmp_path: Path) -> None:
    text = (
        TICKETS + '      token_exchange: {token_endpoint: "http://127.0.0.1:9/token", client_id: ostiary}\n'
    )
    credentials_broker = broker(text, tmp_path)
    with pytest.raises(UpstreamCredentialError, match="needs the caller's token"):
        await credentials_broker.credentials_for("tickets", ALICE)


ECHO_HASH = (
    "import hashlib, os, sys; "
    "sys.stdout.write(hashlib.sha256(os.environ.get('TICKETS_TOKEN', '').encode()).hexdigest())"
)


async def test_a_stdio_upstream_gets_each_users_own_secret_in_its_own_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    alice_secret, bob_secret = "alice-" + secrets.token_hex(16), "bob-" + secrets.token_hex(16)
    (tmp_path / "alice.token").write_text(alice_secret + "\n")
    (tmp_path / "bob.token").write_text(bob_secret)
    credentials_broker = broker(
        f"""
servers:
  tickets: {{command: "{sys.executable}", args: ["-c", "{ECHO_HASH}"]}}
auth:
  upstreams:
    tickets:
      env: TICKETS_TOKEN
      per_user:
        secrets:
          alice: "${{file:{tmp_path}/alice.token}}"
          bob: "${{file:{tmp_path}/bob.token}}"
""",
        tmp_path,
    )
    caplog.set_level(logging.DEBUG)
    seen = {}
    for principal, secret in ((ALICE, alice_secret), (BOB, bob_secret)):
        creds = await credentials_broker.credentials_for("tickets", principal)
        spec = credentials_broker.config.servers["tickets"]
        process = await asyncio.create_subprocess_exec(
            spec.command or "", *spec.args, env={"PATH": "/usr/bin:/bin", **creds.env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=10)
        assert process.returncode == 0
        assert out.decode() == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in out.decode() + err.decode() + caplog.text + repr(creds)
        seen[principal.subject] = credentials_broker.connection_key("tickets", principal)
    assert seen["alice"] != seen["bob"]  # one process per user


async def test_a_user_without_a_per_user_secret_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSTIARY_TEST_ALICE", "alice-secret-value")
    text = TICKETS + '      scheme: Token\n      per_user: {secrets: {alice: "${env:OSTIARY_TEST_ALICE}"}}\n'
    credentials_broker = broker(text, tmp_path)
    creds = await credentials_broker.credentials_for("tickets", ALICE)
    assert creds.headers == {"Authorization": "Token alice-secret-value"}
    with pytest.raises(UpstreamCredentialError, match="no credential for 'bob'") as caught:
        await credentials_broker.credentials_for("tickets", BOB)
    assert "alice-secret-value" not in str(caught.value)


async def test_shared_server_headers_are_resolved_from_references_and_redacted_in_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    shared = "shared-" + secrets.token_hex(16)
    monkeypatch.setenv("OSTIARY_TEST_SHARED", shared)
    credentials_broker = broker(
        'servers:\n  wiki: {url: "http://127.0.0.1:9/mcp",'
        ' headers: {X-Api-Key: "${env:OSTIARY_TEST_SHARED}"}}\n',
        tmp_path,
    )
    creds = await credentials_broker.credentials_for("wiki", ALICE)
    assert creds.headers == {"X-Api-Key": shared}
    assert credentials_broker.connection_key("wiki", ALICE) == "wiki"  # shared: one connection
    logger = logging.getLogger("ostiary.test.credentials")
    logger.addFilter(secretref.RedactingFilter())
    with caplog.at_level(logging.INFO, logger="ostiary.test.credentials"):
        logger.info("connecting with %s", creds.headers["X-Api-Key"])
    assert shared not in caplog.text
    assert "[REDACTED]" in caplog.text


@pytest.mark.parametrize(
    ("upstreams", "message"),
    [
        ("tickets: {per_user: {secrets: {alice: plain-secret}}}", "never the secret"),
        ("tickets: {token_exchange: {token_endpoint: 'http://idp.example.test/t', client_id: x}}", "https"),
        ("nope: {per_user: {secrets: {alice: '${env:X}'}}}", "no such server"),
        ("local: {per_user: {secrets: {alice: '${env:X}'}}}", "receives its credential in 'env'"),
        ("tickets: {}", "exactly one"),
    ],
)
def test_an_unsafe_upstream_credential_config_is_refused(
    tmp_path: Path, upstreams: str, message: str
) -> None:
    text = (
        'servers:\n  tickets: {url: "https://t.example.test/mcp"}\n  local: {command: x}\n'
        f"auth:\n  upstreams:\n    {upstreams}\n"
    )
    with pytest.raises(ConfigError) as caught:
        broker(text, tmp_path)
    assert message in str(caught.value)
    assert "plain-secret" not in str(caught.value)
