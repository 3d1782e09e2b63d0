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
