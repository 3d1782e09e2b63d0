"""Credentials read from their shape alone or beside any name (`tokens.py`)."""

import pytest

from ostiary.detection import names, tokens
from ostiary.detection.secrets import SecretsDetector, SecretsOptions


def found(detector: SecretsDetector, text: str) -> list[tuple[str, str]]:
    return [(f.rule, text[f.start : f.end]) for f in detector.scan(text).findings]


# Random values in the shape providers issue keys; none is a real credential.
@pytest.mark.parametrize(
    "value",
    [
        "acme-Q7vR2xK9pLw4TzN8bYc3HdF5",
        "wdg_live_48213377_kP3xV9qZ7mR2tL8wN4bY",
        "zq_sa_sk_Lm4T_x8Rv2KpQ9wZ3nB7yC5dF1hJ",
    ],
)
def test_a_prefixed_random_token_is_found_with_no_name_beside_it(
    own_rules: SecretsDetector, value: str
) -> None:
    assert found(own_rules, f"Use {value} for the nightly job.") == [("secret.prefixed_token", value)]


@pytest.mark.parametrize(
    "text",
    [
        "test_verifiesSignatureWithRotatedKeys2 passed",
        "see docs-abcdefabcdefabcdefabcdef for details",
        "the build-20240131T101500Z1234 artifact",
        "css-1a2b3c4d5e6f7g8h9i0j",
        # An address's local part, obfuscated by a mailing-list archive.
        "KO Myung-Hun  <komh78-Re5JQEeQqe8AvxtiuMwx3w@public.gmane.org>",
    ],
)
def test_a_name_or_filler_after_a_prefix_is_no_token(own_rules: SecretsDetector, text: str) -> None:
    assert [rule for rule, _ in found(own_rules, text) if rule.startswith("secret.")] == []


@pytest.mark.parametrize(
    "text",
    [
        'acme = "Zp4Kq9wLm2Xv7Tn3Rb8Yc5Hd1Fg"',
        # A line holding only a name and the value, a space between.
        "acme Zp4Kq9wLm2Xv7Tn3Rb8Yc5Hd1Fg",
        "  widget 'Zp4Kq9wLm2Xv7Tn3Rb8Yc5Hd1Fg'\n",
    ],
)
def test_a_random_literal_assigned_to_any_name_is_found(own_rules: SecretsDetector, text: str) -> None:
    assert found(own_rules, text) == [("secret.random_assignment", "Zp4Kq9wLm2Xv7Tn3Rb8Yc5Hd1Fg")]


@pytest.mark.parametrize(
    "text",
    [
        # A name and a value inside a sentence, an assignment after `export`, a digest's name.
        "We tried acme Zp4Kq9wLm2Xv7Tn3Rb8Yc5Hd1Fg yesterday.",
        "  export CROSSPREFIX=/opt/djgpp/bin/i586-pc-msdosdjgpp-",
        "sha256 Zp4Kq9wLm2Xv7Tn3Rb8Yc5Hd1Fg",
    ],
)
def test_a_name_and_value_not_alone_on_their_line_or_an_assignment_is_no_pair(
    own_rules: SecretsDetector, text: str
) -> None:
    assert found(own_rules, text) == []


def test_a_prefixed_token_may_end_in_base64_padding_but_a_digest_is_no_token(
    own_rules: SecretsDetector,
) -> None:
    token = "tkn.v1_Qm7vT2pxR9Kd4LsW8nYc3HbZ6fJe1GaUx8Rv2KpQ9wZ3nB7yC5dF1hJ="
    assert found(own_rules, f"acmedesk {token}") == [("secret.prefixed_token", token)]
    integrity = (
        '"integrity": "sha512-9qWOMFNxxLokERcms42rU0PTLqQmVs7g5E41TI4mCOxmpF'
        'ayD1rfC7XxOL55cG9MBZLFlC31BrR37myMKardwg=="'
    )
    assert found(own_rules, integrity) == []


@pytest.mark.parametrize(
    "text",
    [
        # Base64 of words, a URL, a class path, an identifier, a digest's name.
        "base64_str='VGhlc2UgYXJlbid0IHRoZSBkcm9pZHMgeW91J3JlIGxvb2tpbmcgZm9y'",
        "[chat](https://discord.gg/RxKUF5JuHs2Lm9Qw)",
        "handler = app.handlers.RetryingUploadHandler",
        "execution_context = DefaultExecutionContext2",
        "session_id = 'Zp4Kq9wLm2Xv7Tn3Rb8Yc5Hd1Fg'",
        'etag: "Zp4Kq9wLm2Xv7Tn3Rb8Yc5Hd1Fg"',
        # Paths, file names and references in docs and logs: names joined, not random.
        "Passed: compiler/c2/Test7002666.java",
        "Passed: com/sun/net/httpserver/bugs/B6339483.java",
        "  :class:`~cryptography.x509.CertificateSigningRequest`.",
        "'RUNSHARED': 'LD_LIBRARY_PATH=/tmp/python-build.20260509073455.222/Python-3.11.7',",
        "MODULE__TKINTER_CFLAGS=-I/usr/include/tcl8.6  -Wno-strict-prototypes",
        "handling in libext2fs: ext2fs_write_bb_FILE, ext2fs_read_bb_FILE2, and",
        # A UUID and a documentation placeholder.
        "trace = 7c2f9e41-B8d3-4a6e-9f05-2d71c8e3b4a9",
        "acme = YOUR_API_KEY_GOES_HERE_1234",
    ],
)
def test_an_encoded_text_a_name_or_an_identifier_is_no_random_literal(
    own_rules: SecretsDetector, text: str
) -> None:
    assert found(own_rules, text) == []


def test_a_wallet_address_under_a_name_is_personal_data_not_a_random_credential() -> None:
    text = '{"wallet": "1Q7LYYtAmvbrbpGsTToaSegqPL688QV9Th", "amount": 4.39}'
    assert found(SecretsDetector(), text) == [("pii.crypto_address", "1Q7LYYtAmvbrbpGsTToaSegqPL688QV9Th")]


def test_a_prefix_may_hold_a_dot_before_its_last_separator() -> None:
    # Only Ostiary's rules, so no provider rule names the token first.
    detector = SecretsDetector(SecretsOptions(packs=()))
    token = "tkn.v1_Qm7vT2pxR9Kd4LsW8nYc3HbZ6fJe1GaU"
    assert found(detector, f"the key is {token} now") == [("secret.prefixed_token", token)]
    # A dotted name in code whose last part is words, not random characters, is no token.
    assert found(detector, "x = app.config.handler_DefaultUploadRetryingHandler2") == []


@pytest.mark.parametrize(
    "text",
    [
        # A pack's generic rule on characters counted up (filler), an `invalid` token in a doc,
        # and a Grafana-shaped key whose base64 decodes to a documentation example.
        'deviantart_client_secret = "LMNOPQRSTUVWXYZZZZZZZZ9999999999"',
        "glsa_iNValIdinValiDinvalidinvalidinva_5b582697",
        "eyJrIjoiRVhBTVBMRVRFU1RURVNURW5uaGFaamwzWHo5WjQiLCJuIjoiZXhhbXBsZSIsImlkIjoxfQ==",
    ],
)
def test_documentation_filler_is_no_credential_for_the_packs_either(text: str) -> None:
    assert found(SecretsDetector(), text) == []


@pytest.mark.parametrize(
    "value",
    [
        "compiler/c2/Test7002666.java",
        "~cryptography.x509.OCSPNoCheck",
        "gnutls_x509_crt_verify_data2",
        "-I/usr/include/tcl8.6",
        "javax/xml/jaxp/validation/8015243/AnyURITest.java",
    ],
)
def test_names_joined_into_a_path_or_a_reference_are_written_not_random(value: str) -> None:
    assert names.written(value) or names.path(value)
    assert not tokens.random(value)


@pytest.mark.parametrize(
    "value",
    [
        "Zp4Kq9wLm2Xv7Tn3Rb8Yc5Hd1Fg",
        "ba588036180d4d1d9cebbf6456f1e220",
        "ZXC2JK3HV4TY5UIO6PLK",
        "2e11kyDIiLGCGkHX7pAdSvKuqrEcZtYf82HrSVZxCZ",
        "SIXvRyDmBJSgatgTQRGbInBaAK+hZOQ18UmrSwnDlK8=",
        "Qm7vT2pxR9Kd4LsW8nYc3HbZ6fJe1GaU/x8Rv2KpQ9wZ3nB7",
    ],
)
def test_random_characters_are_neither_written_names_nor_a_path(value: str) -> None:
    assert not names.written(value)
    assert not names.path(value)


@pytest.mark.parametrize(
    "value",
    [
        "key_8c5a7657fc397e114def1b51dd520410ad50ece61e30b64261ff369ab275ef2",
        "live_9e3b5c1a7d2f48e6b0c4a8f1d3e7b2c5",
        "acme-k7m2q9x4v8r3t6y1w5p0z8n2b6c4h9j3",
    ],
)
def test_a_prefixed_token_of_one_case_is_found(own_rules: SecretsDetector, value: str) -> None:
    assert found(own_rules, f"use {value} here") == [("secret.prefixed_token", value)]


@pytest.mark.parametrize(
    "text",
    [
        # A commit id after a branch's prefix, a build's or a request's id, the RFC's UUID.
        "Merge branch fix_0fd1a81d3547acb8f5be50bbbc3e44bde01c014b into master",
        "build-9e3b5c1a7d2f48e6b0c4a8f1d3e7b2c5 finished",
        "req_9e3b5c1a7d2f48e6b0c4a8f1d3e7b2c5 failed",
        "web_123e4567e89b12d3a456426614174abc",
        # Too short for one case to tell it from a word and digits.
        "live_9e3b5c1a7d2f48e6",
    ],
)
def test_an_id_or_a_commit_after_a_prefix_is_no_one_case_token(own_rules: SecretsDetector, text: str) -> None:
    assert found(own_rules, text) == []


def test_base64_of_json_is_no_random_literal(own_rules: SecretsDetector) -> None:
    assert found(own_rules, '"body": "eyJkYXRhIjoidGVzdCIsImlkIjo3fQ==",') == []
