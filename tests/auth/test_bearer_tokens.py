"""JWT validation through the real path: a real issuer's keys served on loopback, real tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization

from auth.issuer import ISSUER, RESOURCE, Issuer, auth_section
from ostiary import config as config_module
from ostiary.auth import Authenticator, AuthError, build_authenticator

CONFIG = config_module.parse("")


def authenticator(issuer: Issuer, **jwt_overrides: object) -> Authenticator:
    built = build_authenticator(auth_section(issuer, **jwt_overrides), CONFIG)
    assert built is not None
    return built


async def refused(auth: Authenticator, token: str, query: dict[str, str] | None = None) -> AuthError:
    with pytest.raises(AuthError) as caught:
        await auth.authenticate({"Authorization": f"Bearer {token}"}, query or {})
    assert token not in str(caught.value)
    assert token not in (caught.value.www_authenticate or "")
    return caught.value


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_a_valid_token_yields_the_principal_with_groups_client_and_scopes(issuer: Issuer) -> None:
    principal = await authenticator(issuer).authenticate({"authorization": f"Bearer {issuer.mint()}"}, {})
    assert principal.subject == "alice"
    assert principal.groups == {"dev", "oncall"}
    assert principal.client_id == "cursor"
    assert principal.method == "jwt"
    assert "mcp:tools" in principal.scopes


async def test_an_ec_signed_token_is_accepted(issuer: Issuer) -> None:
    principal = await authenticator(issuer).authenticate(
        {"Authorization": f"Bearer {issuer.mint('ec-1')}"}, {}
    )
    assert principal.subject == "alice"


async def test_roles_claim_and_client_id_claim_are_read_when_configured(issuer: Issuer) -> None:
    token = issuer.mint(groups=None, roles="admin auditor", azp=None, client_id="svc")
    principal = await authenticator(issuer).authenticate({"Authorization": f"Bearer {token}"}, {})
    assert principal.groups == {"admin", "auditor"}
    assert principal.client_id == "svc"


async def test_an_expired_token_is_refused_with_a_challenge_pointing_at_the_metadata(issuer: Issuer) -> None:
    auth = authenticator(issuer)
    now = int(time.time())
    error = await refused(auth, issuer.mint(exp=now - 120, iat=now - 600, nbf=now - 600))
    assert (error.status, error.error, error.description) == (401, "invalid_token", "token expired")
    assert error.www_authenticate is not None
    assert error.www_authenticate.startswith("Bearer ")
    assert 'resource_metadata="https://gateway.example.test/.well-known/oauth-protected-resource/mcp"' in (
        error.www_authenticate
    )


async def test_a_token_expired_within_the_leeway_is_still_accepted(issuer: Issuer) -> None:
    now = int(time.time())
    token = issuer.mint(exp=now - 5, iat=now - 600, nbf=now - 600)
    assert (
        await authenticator(issuer).authenticate({"Authorization": f"Bearer {token}"}, {})
    ).subject == "alice"


async def test_a_token_not_yet_valid_is_refused(issuer: Issuer) -> None:
    now = int(time.time())
    error = await refused(authenticator(issuer), issuer.mint(nbf=now + 600, iat=now))
    assert error.description == "token not yet valid"


async def test_a_token_for_another_audience_is_refused(issuer: Issuer) -> None:
    error = await refused(authenticator(issuer), issuer.mint(aud="https://other-service.example.test/mcp"))
    assert error.description == "token was not issued for this resource"
    # A prefix or a trailing slash is another resource, not this one.
    error = await refused(authenticator(issuer), issuer.mint(aud=RESOURCE + "/"))
    assert error.status == 401


async def test_a_token_without_an_audience_is_refused(issuer: Issuer) -> None:
    error = await refused(authenticator(issuer), issuer.mint(aud=None))
    assert error.description == "token lacks the 'aud' claim"


async def test_a_token_from_another_issuer_is_refused(issuer: Issuer) -> None:
    error = await refused(authenticator(issuer), issuer.mint(iss="https://evil-idp.example.test"))
    assert error.description == "token issuer not accepted"


async def test_a_token_signed_by_another_key_under_a_published_kid_is_refused(issuer: Issuer) -> None:
    forged = issuer.mint("attacker", headers={"kid": "rsa-1"})
    error = await refused(authenticator(issuer), forged)
    assert error.description == "token signature invalid"


async def test_a_token_with_a_tampered_payload_is_refused(issuer: Issuer) -> None:
    header, _, signature = issuer.mint().split(".")
    payload = b64(json.dumps(issuer.claims(sub="root", groups=["admin"])).encode())
    error = await refused(authenticator(issuer), f"{header}.{payload}.{signature}")
    assert error.description == "token signature invalid"


async def test_an_unsigned_alg_none_token_is_refused(issuer: Issuer) -> None:
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "rsa-1"}).encode())
    payload = b64(json.dumps(issuer.claims()).encode())
    for token in (f"{header}.{payload}.", f"{header}.{payload}.c2ln"):
        error = await refused(authenticator(issuer), token)
        assert error.description == "signing algorithm not accepted"


async def test_an_hmac_token_keyed_with_the_public_rsa_key_is_refused(issuer: Issuer) -> None:
    pem = (
        issuer.keys["rsa-1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    payload = b64(json.dumps(issuer.claims(sub="root")).encode())
    signature = b64(hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    error = await refused(authenticator(issuer), f"{header}.{payload}.{signature}")
    assert error.description == "signing algorithm not accepted"


async def test_an_allowed_algorithm_that_does_not_fit_the_key_is_refused(issuer: Issuer) -> None:
    # ES256 claimed over an RSA kid: the key type decides, not the header.
    header = b64(json.dumps({"alg": "ES256", "kid": "rsa-1"}).encode())
    payload = b64(json.dumps(issuer.claims()).encode())
    error = await refused(authenticator(issuer), f"{header}.{payload}.AAAA")
    assert error.description == "signing algorithm does not match the key"


async def test_a_token_without_the_required_scope_gets_403_insufficient_scope(issuer: Issuer) -> None:
    error = await refused(authenticator(issuer), issuer.mint(scope="openid profile"))
    assert (error.status, error.error) == (403, "insufficient_scope")
    assert error.www_authenticate is not None
    assert 'error="insufficient_scope"' in error.www_authenticate
    assert 'scope="mcp:tools"' in error.www_authenticate


async def test_a_new_signing_key_is_picked_up_when_the_issuer_rotates(issuer: Issuer) -> None:
    auth = authenticator(issuer, jwks_min_refresh_seconds=0)
    await auth.authenticate({"Authorization": f"Bearer {issuer.mint()}"}, {})
    before = issuer.requests
    error = await refused(auth, issuer.mint("rsa-next"))
    assert error.description == "unknown signing key"
    issuer.published = ["rsa-next"]  # rotation: the old key is withdrawn, a new one appears
    principal = await auth.authenticate({"Authorization": f"Bearer {issuer.mint('rsa-next')}"}, {})
    assert principal.subject == "alice"
    assert issuer.requests == before + 2
    # Cached: another token with the new key costs no fetch.
    await auth.authenticate({"Authorization": f"Bearer {issuer.mint('rsa-next', sub='bob')}"}, {})
    assert issuer.requests == before + 2
    # The withdrawn key no longer verifies anything.
    error = await refused(auth, issuer.mint("rsa-1"))
    assert error.description == "unknown signing key"


async def test_unknown_key_ids_do_not_make_the_gateway_hammer_the_issuer(issuer: Issuer) -> None:
    auth = authenticator(issuer, jwks_min_refresh_seconds=60)
    await auth.authenticate({"Authorization": f"Bearer {issuer.mint()}"}, {})
    for i in range(20):
        await refused(auth, issuer.mint("attacker", headers={"kid": f"forged-{i}"}))
    assert issuer.requests == 1


async def test_a_token_in_the_query_string_is_refused(issuer: Issuer) -> None:
    token = issuer.mint()
    with pytest.raises(AuthError) as caught:
        await authenticator(issuer).authenticate({}, {"access_token": token})
    assert (caught.value.status, caught.value.error) == (400, "invalid_request")
    # Even alongside a valid header: the URL has already leaked it into logs.
    with pytest.raises(AuthError):
        await authenticator(issuer).authenticate(
            {"Authorization": f"Bearer {token}"}, {"access_token": token}
        )


async def test_a_request_without_credentials_gets_a_bare_challenge(issuer: Issuer) -> None:
    with pytest.raises(AuthError) as caught:
        await authenticator(issuer).authenticate({}, {})
    assert caught.value.status == 401
    assert caught.value.www_authenticate == (
        'Bearer scope="mcp:tools", '
        'resource_metadata="https://gateway.example.test/.well-known/oauth-protected-resource/mcp"'
    )


@pytest.mark.parametrize("header", ["Basic YWxpY2U6cHc=", "Bearer", "Bearer a b", "Token abc"])
async def test_a_malformed_authorization_header_is_refused(issuer: Issuer, header: str) -> None:
    with pytest.raises(AuthError) as caught:
        await authenticator(issuer).authenticate({"Authorization": header}, {})
    assert caught.value.status == 401


async def test_the_protected_resource_metadata_names_the_resource_and_its_issuer(issuer: Issuer) -> None:
    auth = authenticator(issuer)
    assert auth.metadata_path == "/.well-known/oauth-protected-resource/mcp"
    document = auth.metadata()
    assert document["resource"] == RESOURCE
    assert document["authorization_servers"] == [ISSUER]
    assert document["bearer_methods_supported"] == ["header"]
    assert document["scopes_supported"] == ["mcp:tools"]


async def test_an_unreachable_issuer_fails_closed_with_503(issuer: Issuer) -> None:
    section = auth_section(issuer)
    section["jwt"]["jwks_url"] = "http://127.0.0.1:9/jwks.json"
    auth = build_authenticator(section, CONFIG)
    assert auth is not None
    error = await refused(auth, issuer.mint())
    assert error.status == 503
