import pytest

from ostiary.detection.secrets import SecretsDetector, SecretsOptions


@pytest.fixture(scope="module")
def detector() -> SecretsDetector:
    return SecretsDetector()


def found(detector: SecretsDetector, text: str) -> list[tuple[str, str]]:
    return [(f.rule, text[f.start : f.end]) for f in detector.scan(text).findings]


OPENAI_HALF = "Zx9qT4mLp2Rw8YbN3vKcA1sD5fG7hJ0kL2qWx7Yq2Lm9vTzR4pK8" + "aB3dE5gH7jK9mN1pQ3sT5v"


# Random values in the documented formats; none is a real credential.
@pytest.mark.parametrize(
    ("rule", "value"),
    [
        ("secret.aws-access-token", "AKIAZ3XQ7PLMWERT5YHU"),
        ("secret.github-pat", "ghp_" + "Zx9qT4mLp2Rw8YbN3vKcA1sD5fG7hJ0kL2qW"),
        ("secret.gitlab-pat", "glpat-" + "x7Yq2Lm9vTzR4pK8wN3b"),
        ("secret.slack-bot-token", "xoxb-123456789012-1234567890123-" + "Zx9qT4mLp2Rw8YbN3vKcA1sD"),
        ("secret.stripe-access-token", "sk_live_" + "Zx9qT4mLp2Rw8YbN3vKcA1sD"),
        ("secret.openai-api-key", "sk-proj-" + OPENAI_HALF + "T3BlbkFJ" + OPENAI_HALF[::-1]),
        ("secret.gcp-api-key", "AIza" + "SyZx9qT4mLp2Rw8YbN3vKcA1sD5fG7hJ0kL"),
        ("secret.npm-access-token", "npm_" + "Zx9qT4mLp2Rw8YbN3vKcA1sD5fG7hJ0kL2qW"),
    ],
)
def test_provider_keys_are_found_by_their_documented_format(
    detector: SecretsDetector, rule: str, value: str
) -> None:
    assert found(detector, f"config: {value} end") == [(rule, value)]


@pytest.mark.parametrize(
    "text",
    [
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "export OPENAI_API_KEY=sk-your-api-key-here",
        'GITHUB_TOKEN="ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
        "DATABASE_URL=postgresql://user:password@localhost:5432/mydb",
        "commit 3f2a9c1d4b5e6f708192a3b4c5d6e7f8091a2b3c",
        '{"request_id": "550e8400-e29b-41d4-a716-446655440000"}',
        "sha256:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        "token_hash: 5e884898da28047151d0e56f8dc6292773603d0d",
        "tokenizer = 'cl100k_base'; max_tokens = 4096",
    ],
)
def test_placeholders_digests_and_ids_are_not_secrets(detector: SecretsDetector, text: str) -> None:
    assert found(detector, text) == []


def test_a_private_key_is_found_from_armour_to_armour(detector: SecretsDetector) -> None:
    block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----"
    assert found(detector, f"key:\n{block}\nend") == [("secret.private_key", block)]


def test_a_connection_string_yields_only_its_password(detector: SecretsDetector) -> None:
    assert found(detector, "postgresql://app:pR7xq2Lm9vTz@db.internal:5432/x") == [
        ("secret.connection_password", "pR7xq2Lm9vTz")
    ]


def test_a_generic_assignment_needs_a_random_looking_value(detector: SecretsDetector) -> None:
    assert found(detector, "api_key = 'Zx9qT4mLp2Rw8YbN3vKc'") == [
        ("secret.generic-api-key", "Zx9qT4mLp2Rw8YbN3vKc")
    ]
    assert found(detector, "api_key = 'aaaaaaaaaaaaaaaaaaaa'") == []


def test_a_jwt_needs_a_header_that_decodes_to_json() -> None:
    detector = SecretsDetector()
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    assert found(detector, token) == [("secret.jwt", token)]
    assert found(detector, "eyJnotjson.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P") == []


def test_json_values_are_scanned_at_their_paths(detector: SecretsDetector) -> None:
    report = detector.scan_json({"config": {"key": "AKIAZ3XQ7PLMWERT5YHU", "n": 1}, "list": ["a@b"]})
    assert [(f.path, f.start, f.end) for f in report.findings] == [("/config/key", 0, 20)]


def test_kinds_can_be_limited_to_credentials() -> None:
    detector = SecretsDetector(SecretsOptions(kinds=frozenset({"secret"})))
    assert found(detector, "mail anna.novak@posteo.de") == []


def test_a_field_found_whole_is_found_among_many_fields_screened_together() -> None:
    # Fields are screened a batch at a time with the rules read line by line: a rule anchored
    # to a whole field (`^...$`) still fires on the one field that holds a card number alone.
    fields = [(f"/content/{i}/text", "nothing to see here " * 200) for i in range(40)]
    fields.insert(17, ("/content/card/text", " 4539148803436467 "))
    findings = SecretsDetector().scan_fields(fields).findings
    assert [(f.rule, f.path, f.start, f.end) for f in findings] == [
        ("pii.card_number", "/content/card/text", 0, 18)
    ]
    assert SecretsDetector().scan_fields(fields[:17] + fields[18:]).findings == []


# Random values in crypt(3)'s formats and an Azure connection string's; none is real.
BCRYPT = "$2b$12$" + "PtYgjmUhBel31iEl2hpChYgCfrL1spNxnyVmihA/2O76UMFxFkM/R"
SHA512_CRYPT = (
    "$6$rounds=5000$qoE2letU$"
    + "5Kjp1vRt.1fjORS/6ilI8ihN5KXSc7Tvo/hBKqFYY/kv5ZJr3J1TWDtkwtDDb.xHKas1VOqg6YYZYn9ZhyiA4u"
)
AZURE_KEY = "oRgnatmUdjAWtGSU8po+799NksnRH9ucAUsdMlHUvTCQCyEZDz/TddJ8HyS5SUkCnD8zRA9a9SkpXz9w3QlY7Z=="


@pytest.mark.parametrize("value", [BCRYPT, SHA512_CRYPT])
def test_a_password_hash_is_found_by_its_crypt_format(detector: SecretsDetector, value: str) -> None:
    assert found(detector, f"admin:{value}:19000:0:99999:7:::") == [("secret.password_hash", value)]


def test_an_azure_connection_string_yields_its_key(detector: SecretsDetector) -> None:
    text = f"DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={AZURE_KEY};EndpointSuffix=x"
    assert found(detector, text) == [("secret.azure_connection_key", AZURE_KEY)]
    assert found(detector, "AccountName=X;AccountKey=<YOUR_ACCOUNT_KEY>;") == []


@pytest.mark.parametrize(
    "text",
    [
        'export PGPASSWORD="$gdcapi_db_password"',
        "REACT_APP_FORGOT_PASSWORD=$REACT_APP_BASE_URL/classroom/#/forgot_password",
        '"password_help": "/en/authentication/creating-a-strong-password"',
        "amqps://username:$password@localhost:5672",
        "--set global.licenseKey=a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8NRAL",
    ],
)
def test_a_variable_a_path_or_filler_is_no_password(detector: SecretsDetector, text: str) -> None:
    assert found(detector, text) == []


@pytest.fixture(scope="module")
def own_rules() -> SecretsDetector:
    """Ostiary's own rules alone: what the keyword rule finds without any rule pack."""
    return SecretsDetector(SecretsOptions(packs=()))


# Random values after a name holding a credential word; none is a real credential.
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("acme_token = Qm7vR2xK9pLw4TzN8bYc3HdF", "Qm7vR2xK9pLw4TzN8bYc3HdF"),
        ('Widget_key = "PqlmWvzkTrbXcnHdgYsJfwQe"', "PqlmWvzkTrbXcnHdgYsJfwQe"),
        ("acmeKEY n4Rz8qWm2Xv7Lp5Tk9Yb3Hc", "n4Rz8qWm2Xv7Lp5Tk9Yb3Hc"),
        ("acme access key r8Tq2mZx7Wv4Kp9Ln3Bc5Hd", "r8Tq2mZx7Wv4Kp9Ln3Bc5Hd"),
        ("acme_PRIVATE k3Pz9xQw7Rv2Lm8Tn4Yb", "k3Pz9xQw7Rv2Lm8Tn4Yb"),
        ("widget_secret=sk_live_Z7Q2XK9WVM4PRT8BNJ3C", "sk_live_Z7Q2XK9WVM4PRT8BNJ3C"),
        ("ACME_AUTH: 'x9v2q7m4z8k3w6p1t5r0y3bd'", "x9v2q7m4z8k3w6p1t5r0y3bd"),
        ("widget_credential => f3a91c7e5b2d48e0a6c1", "f3a91c7e5b2d48e0a6c1"),
        ("acme_key = 7c2f9e41-b8d3-4a6e-9f05-2d71c8e3b4a9", "7c2f9e41-b8d3-4a6e-9f05-2d71c8e3b4a9"),
        (
            "acme_token = Tq8zR3vW9xKp2Lm7Nc4Bd.Hy5Fg1Js6Qk0Wr3Ze8Xt",
            "Tq8zR3vW9xKp2Lm7Nc4Bd.Hy5Fg1Js6Qk0Wr3Ze8Xt",
        ),
    ],
)
def test_a_credential_shaped_value_after_a_credential_name_is_found(
    own_rules: SecretsDetector, text: str, value: str
) -> None:
    assert found(own_rules, text) == [("secret.keyword_assignment", value)]


@pytest.mark.parametrize(
    "text",
    [
        # Code: calls, identifiers, references, paths.
        "token = get_token()",
        'key = "some_identifier"',
        "cache_key = 'SomeServiceProviderName'",
        "access_token = self.config.access_token_value",
        "secret_key = settings.SECRET_KEY_FALLBACK",
        "auth_backend = django.contrib.auth.backends.ModelBackend",
        "PrivateKeyLoader rust_openssl.hpke.PrivateKeyLoader",
        "key_file = /etc/ssl/private/server-cert.pem",
        "ACCESS_TOKEN_EXPIRE_MINUTES = 1440000000000000",
        # File names and paths after a key word: names joined, with abbreviations.
        "doit:124: rsa pss key: gnutls_x509_crt_verify_data2",
        " salsa20-128-set-key.c salsa20-256-set-key.c",
        " fuzz/gnutls_pkcs12_key_parser_fuzzer.c fuzz/gnutls_pkcs8_key_parser_fuzzer.c",
        "\t* libxslt/documents.c libxslt/keys.c libxslt/xsltInternals.h",
        # Placeholders, RFC 4122's example UUID, filler and sequences.
        "acme_key = 123e4567-e89b-12d3-a456-426614174000",
        "acme_key = abcdefabcdefabcdefabcdefabcdef",
        "acme_token = abc123def456ghi789jkl012",
        "acme_key = 1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6p",
        "acme SECRET ZYXWVUTSRQPONMLKJIHGFEDCBA",
        "acme_token = your_token_goes_here_please",
        # Names of identifiers and digests, and words that only hold a keyword.
        "session_token_id = 8f3a2c9e7b1d4f6a0c5e",
        "Release GPG key: 9554F04D7259F04124DE6B476D5A82AC7E37093B",
        "token_sha256 = 4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a",
        "author: Zq8xW3vRt7Kp2Lm9Nc4B",
        "const pubkey256 = 'SIXvRyDmBJSgatgTQRGbInBaAK+hZOQ18UmrSwnDlK8=';",
        # Low entropy.
        "acme_token = aaaabbbbaaaabbbb1111",
    ],
)
def test_code_and_look_alikes_after_a_credential_name_are_not_found(
    own_rules: SecretsDetector, text: str
) -> None:
    assert [rule for rule, _ in found(own_rules, text)] == []


# A credential name joined to its value by a hyphen or a dot, or on the line before it; made-up
# values, none a real credential.
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("acmePRIVATEkey-c4f1a97be25d3806fa1c4be9d07235a6", "c4f1a97be25d3806fa1c4be9d07235a6"),
        ("widgetACCESS-TOKEN-Qm7vR2xK9pLw4TzN8bYc3HdF==", "Qm7vR2xK9pLw4TzN8bYc3HdF=="),
        ("acmeSECRET.7d2e9f4a1c8b6e3d0f5a2c9e8b1d4f7a", "7d2e9f4a1c8b6e3d0f5a2c9e8b1d4f7a"),
        ("acme private access key\nR8TQ2MZX7WV4KP9LN3BC", "R8TQ2MZX7WV4KP9LN3BC"),
        ("widget:\n  api_key:\n    n4Rz8qWm2Xv7Lp5Tk9Yb3Hc\n", "n4Rz8qWm2Xv7Lp5Tk9Yb3Hc"),
        ("ACME_TOKEN =\n  'k3Pz9xQw7Rv2Lm8Tn4Yb'", "k3Pz9xQw7Rv2Lm8Tn4Yb"),
        # A short keyword inside random characters is no sign of code (`SomeKey module.SomeKey`).
        ("acme KEY io3l0urk6hubmo2gbbzrf192key0ke9x", "io3l0urk6hubmo2gbbzrf192key0ke9x"),
    ],
)
def test_a_value_joined_to_its_credential_name_or_on_the_next_line_is_found(
    own_rules: SecretsDetector, text: str, value: str
) -> None:
    assert found(own_rules, text) == [("secret.keyword_assignment", value)]


@pytest.mark.parametrize(
    "text",
    [
        # A page slug in a URL's path, an identifier or a digest named on the line before.
        "https://www.notion.so/Secret-Key-Rotation-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d",
        "session_id:\n  Qm7vR2xK9pLw4TzN8bYc3HdF",
        "key_sha256:\n  4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a",
        # A line of prose ending in a keyword, then code or a sentence.
        "# refresh the access token\nrefresh_access_token_if_needed(session)",
        "Rotate the key\nThen restart every worker in the pool.",
        # Names in code: an export of itself, a camel-case name, a name being assigned.
        "exports.createPrivateKeyJwtAuth = createPrivateKeyJwtAuth;",
        "  credentials: kEnumerableProperty,",
        '[options.invalidToken.wwwAuthenticateHeader="Bearer error"]',
        # OpenPGP fingerprints and key ids, as gpg prints them.
        "  * New upstream signing key 3D53839A70BC938B08CDD47F45460A518DA84635,",
        "gpg --keyserver hkps://keys.openpgp.org --recv-keys 108F52B48DB57BB0CC439B2997B01419BD92F80A",
    ],
)
def test_a_slug_a_named_identifier_prose_or_a_fingerprint_is_no_joined_or_next_line_value(
    own_rules: SecretsDetector, text: str
) -> None:
    assert [rule for rule, _ in found(own_rules, text) if rule.startswith("secret.")] == []


# Vendors' documented formats; made-up values, none a real credential.
@pytest.mark.parametrize(
    ("text", "rule"),
    [
        # Slack token rotation: refresh tokens and the access tokens they issue.
        (
            "xoxe-1-" + "Qm7vT2pxR9Kd4LsW8nYc3HbZ6fJe1GaUx8Rv2KpQ9wZ3nB7yC5dF1hJ" * 3,
            "secret.slack_rotation_token",
        ),
        ("xoxe.xoxb-1-" + "Zp4Kq9wLm2Xv7Tn3Rb8Yc5Hd1Fg" * 5, "secret.slack_rotation_token"),
        # Django's startproject key, and a key of its alphabet under SECRET_KEY.
        (
            "SECRET_KEY = 'django-insecure-k7#v2q!m9x@p4z$w8r%t3y^n6b&c1d*f(h-j_l=s+a)e0g5i2o'",
            "secret.django_secret_key",
        ),
        ("SECRET_KEY = 'k7#v2q!m9x@p4z$w8r%t3y^n6b&c1d*f(h-j_l=s+a)e0g5i2o'", "secret.django_secret_key"),
    ],
)
def test_a_vendor_documented_token_format_is_found(own_rules: SecretsDetector, text: str, rule: str) -> None:
    assert [r for r, _ in found(own_rules, text)] == [rule]


@pytest.mark.parametrize(
    "text",
    [
        "xoxe-1-abcdef",
        "SECRET_KEY = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'",
        "SECRET_KEY = 'your-secret-key-goes-here-replace-it-with-a-real-1'",
    ],
)
def test_a_short_rotation_prefix_or_a_placeholder_django_key_is_no_secret(
    own_rules: SecretsDetector, text: str
) -> None:
    assert [r for r, _ in found(own_rules, text) if r.startswith(("secret.slack", "secret.django"))] == []
