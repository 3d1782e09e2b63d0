import pytest

from ostiary.detection.secrets import SecretsDetector


@pytest.fixture(scope="module")
def detector() -> SecretsDetector:
    return SecretsDetector()


def rules(detector: SecretsDetector, text: str) -> list[str]:
    return [f.rule for f in detector.scan(text).findings]


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ("pii.card_number", "card 4539 1488 0343 6467 exp 04/27"),
        ("pii.card_number", "credit card: 4539148803436467"),
        ("pii.card_number", "3792-451959-26484"),
        ("pii.iban", "IBAN DE44 5001 0517 5407 3249 31"),
        ("pii.us_ssn", "SSN 536-90-4399"),
        ("pii.uk_nino", "NI number JG 10 37 59 A"),
        ("pii.es_dni", "DNI 12345678Z"),
        ("pii.email", "write to anna.novak@posteo.de"),
        ("pii.phone", "call +49 151 2345 6789"),
        ("pii.phone", "office (415) 826-4410"),
    ],
)
def test_personal_data_that_validates_is_found(detector: SecretsDetector, rule: str, text: str) -> None:
    assert rules(detector, text) == [rule]


@pytest.mark.parametrize(
    "text",
    [
        "card 4539 1488 0343 6468",  # Luhn fails
        "Use the test card 4242 4242 4242 4242.",
        "Order 4539148803436467 shipped",  # a bare digit run with no card context
        "IBAN DE44 5001 0517 5407 3249 32",  # mod-97 fails
        "Example IBAN: GB82 WEST 1234 5698 7654 32",
        "SSN 666-12-3456",
        "DNI 12345678A",
        "support@example.com, git@github.com:acme/tools.git, noreply@github.com",
        "Call 555-0123 (fictional)",
        "ISBN 978-3-16-148410-0, build 2025.4.12-8812",
        "request d60b4797-0070-5287-8d94-b8abf65cdb03",
    ],
)
def test_invalid_and_documented_values_are_not_personal_data(detector: SecretsDetector, text: str) -> None:
    assert rules(detector, text) == []


def test_a_password_in_a_url_is_a_credential_not_an_email(detector: SecretsDetector) -> None:
    assert rules(detector, "redis://default:Zx9qT4mLp2@cache.internal:6379") == ["secret.connection_password"]
