import subprocess
import sys

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


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ("pii.ip_address", "client connected from 84.17.32.201 at noon"),
        ("pii.ip_address", "peer 2a02:8070:a1b2:0:1234:5678:9abc:def0 closed"),
        ("pii.phone", "Tel. 01632 960 123"),
        ("pii.phone", '{"telefon": "+49(0)30 12345678"}'),
        ("pii.phone", "call 897.219.2749x706 after six"),
        ("pii.us_itin", "ITIN 912-70-1234"),
        ("pii.us_passport", "passport number 912803456"),
        ("pii.sg_nric", "NRIC S1234567D"),
        ("pii.in_pan", "PAN ABCPE1234F"),
        ("pii.in_aadhaar", "Aadhaar 2345 6789 0124"),
        ("pii.au_tfn", '{"tfn": "123 456 782"}'),
        ("pii.uk_nhs", '{"nhs_number": "9434765919"}'),
        ("pii.es_nie", "NIE X1234567L"),
        ("pii.it_fiscal_code", "CF RSSMRA85T10A562S"),
        ("pii.pl_pesel", "PESEL: 44051401359"),
        ("pii.crypto_address", "send to 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        ("pii.crypto_address", "wallet 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        ("pii.crypto_address", "wallet bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    ],
)
def test_identifiers_of_many_regions_are_found_when_they_validate(
    detector: SecretsDetector, rule: str, text: str
) -> None:
    assert rules(detector, text) == [rule]


@pytest.mark.parametrize(
    "text",
    [
        "Python 3.11.2.1 and v1.2.3.4 and OID 1.3.6.1.4.1.311",
        "Mozilla/5.0 (Windows NT 5.1; rv:1.9.2.20) Gecko/20100101",
        "allow 10.0.0.0/8 and 2002::/16; scope fe80::1%eth0; docs use 192.0.2.10 and 2001:db8::1",
        "std::vector<int> at 12:30:45",
        "FIN S1234567E",  # check letter fails
        '{"aadhaar": "166907439151"}',  # UIDAI numbers never start with 1
        "commit 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",  # one case, and no word naming a wallet
        "hash 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3",  # Base58Check fails
        "passport office hours 9 to 5",
    ],
)
def test_versions_networks_and_failed_checks_are_not_personal_data(
    detector: SecretsDetector, text: str
) -> None:
    assert rules(detector, text) == []


def test_libphonenumber_loads_with_the_first_candidate_number_not_before() -> None:
    probe = (
        "import sys\n"
        "from ostiary.detection.secrets import SecretsDetector\n"
        "detector = SecretsDetector()\n"
        "assert detector.scan('the build is green; mail anna.novak@posteo.de').findings\n"
        "print('phonenumbers' in sys.modules)\n"
        "print([f.rule for f in detector.scan('call +49 151 2345 6789').findings])\n"
        "print('phonenumbers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:3] == ["False", "['pii.phone']", "True"]


# Values with no word naming them, as Presidio's recognisers take them: a card number of an
# issuer's range and length, a phone number in international form or grouped as its country
# groups it, a PESEL with a real birth date.
@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ("pii.card_number", "the customer confirmed 4526018159083012 this morning"),
        ("pii.card_number", "Eintrag 376613186091399 prüfen"),
        ("pii.card_number", "row has 36281948219930 in the last column"),
        ("pii.card_number", '{"value": "501851819091"}'),
        ("pii.phone", "confirmed 070-4763-7971 yesterday"),
        ("pii.phone", "Row 14 has 04 67 77 66 91 in it"),
        ("pii.phone", "reach her on 0151 496 0728."),
        ("pii.phone", "(03) 4943 8970"),
        ("pii.phone", "the customer gave +4428 9018521"),
        ("pii.phone", "Eintrag +49(0)3897 01759 prüfen"),
        ("pii.pl_pesel", "Row 14 has 53072748079 in it"),
    ],
)
def test_values_that_show_what_they_are_need_no_word_naming_them(
    detector: SecretsDetector, rule: str, text: str
) -> None:
    assert rules(detector, text) == [rule]


@pytest.mark.parametrize(
    "text",
    [
        "x = 0.4526018159083012",  # the digits of a decimal
        "GET /items/4526018159083012/",  # a path segment
        "invoice 4526018159083012 paid",  # named as another number
        "seed=4526018159083012",
        "ts 1733572800 and 1733572800123",  # timestamps
        "7512166745",  # a plain digit run: any integer of that size (eval/secrets/labels.py)
        "call +1-911-599-5217",  # no one's number in the North American plan
        "# 02110-1301  USA",  # a ZIP+4 code
        "keywords from IEEE 1800-2009 standard, JIS X 0208-1983",
        "Copyright (C) 2010-2026 the authors",
        '("49.561543", "16.074288")',  # coordinates
        "[13.      13.40625 14.      14.5]",
        "<Buffer 88 13 70 17>, 08 09 98 44  21 29",  # bytes in hex
        "more than 256 000 000 B",
        "a diff: +12345678 -9",
        "build 2025.4.12-8812, 1 234 567 890 rows",
        "row has 61852863333 in it",  # a PESEL check digit, but born in the 1800s
        "Luhn-valid 9526018159083014",  # no issuer's range
    ],
)
def test_numbers_in_code_and_data_do_not_become_cards_phones_or_pesels(
    detector: SecretsDetector, text: str
) -> None:
    assert rules(detector, text) == []


def _phone_shaped(count: int) -> str:
    """Distinct digit groups shaped like a national number that no region's plan assigns."""
    return "\n".join(f"row {n}: 0{100 + n % 900} {1000 + n} {100 + n % 7}9" for n in range(count))


def test_a_message_of_more_phone_shaped_decoys_than_are_read_is_refused(detector: SecretsDetector) -> None:
    # Each decoy costs libphonenumber a parse per region; past the budget the message is
    # reported incomplete (and so refused), not read on nor passed unread.
    assert detector.scan(_phone_shaped(2000)).truncated
    assert detector.scan_fields([(f"/content/{n}", _phone_shaped(200)) for n in range(10)]).truncated


def test_the_decoy_budget_is_per_message(detector: SecretsDetector) -> None:
    for _ in range(5):
        report = detector.scan(_phone_shaped(100))
        assert not report.truncated
    assert rules(detector, _phone_shaped(100) + "\ncall 0151 496 0728 today") == ["pii.phone"]
