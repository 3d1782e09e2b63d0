from collections.abc import Callable

import pytest

from ostiary.detection import checksums


def test_luhn_accepts_valid_and_rejects_altered_numbers() -> None:
    assert checksums.luhn("79927398713")
    assert not checksums.luhn("79927398710")


def test_iban_checks_length_by_country_and_mod_97() -> None:
    assert checksums.iban("GB29 NWBK 6016 1331 9268 19")
    assert not checksums.iban("GB29 NWBK 6016 1331 9268 18")
    assert not checksums.iban("GB29 NWBK 6016 1331 9268")


def test_entropy_separates_random_tokens_from_words() -> None:
    assert checksums.entropy("aaaaaaaa") == 0.0
    assert checksums.random_token("Zx9qT4mLp2Rw8YbN3vKc")
    assert not checksums.random_token("correct-horse-battery")
    assert not checksums.random_token("your_api_key_goes_here_1234")


def test_placeholders_are_recognised() -> None:
    assert checksums.placeholder("AKIAIOSFODNN7EXAMPLE")
    assert checksums.placeholder("${API_KEY}")
    assert not checksums.placeholder("Zx9qT4mLp2Rw8YbN3vKc")


BECH32 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
EIP55 = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


# Examples published with each algorithm (issuers' and standards' documentation), and the same
# value with one character changed.
@pytest.mark.parametrize(
    ("check", "valid", "altered"),
    [
        (checksums.verhoeff, "2363", "2364"),
        (checksums.au_tfn, "123456782", "123456783"),
        (checksums.au_abn, "51824753556", "51824753557"),
        (checksums.sg_nric, "S1234567D", "S1234567E"),
        (checksums.it_fiscal_code, "RSSMRA85T10A562S", "RSSMRA85T10A562T"),
        (checksums.pl_pesel, "44051401359", "44051401358"),
        (checksums.uk_nhs, "9434765919", "9434765918"),
        (checksums.spanish_nie, "X1234567L", "X1234567K"),
        (checksums.base58check, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"),
        (
            checksums.bech32,
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr",
        ),
        (
            checksums.eip55,
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",
        ),
    ],
)
def test_published_check_digits_hold_and_one_changed_character_fails(
    check: Callable[[str], bool], valid: str, altered: str
) -> None:
    assert check(valid)
    assert not check(altered)


def test_itin_groups_and_aadhaar_leading_digit_follow_the_issuers_rules() -> None:
    assert checksums.us_itin("912-70-1234")
    assert not checksums.us_itin("912-93-1234")  # 93 is not a group the IRS assigns
    assert not checksums.in_aadhaar("166907439151")  # UIDAI numbers never start with 0 or 1
    assert not checksums.base58check("0OIl")  # not in the alphabet


def test_a_card_number_needs_an_issuer_digit_and_luhn() -> None:
    assert checksums.card_number("6759649826438453")  # Maestro
    assert checksums.card_number("676381161022")  # twelve digits: Maestro's shortest
    assert not checksums.card_number("7759649826438450")
    assert not checksums.card_number("4242424242424242")  # a processor's published test card


@pytest.mark.parametrize(
    ("number", "issued"),
    [
        ("4526018159083012", True),  # Visa, 16
        ("4378657975432319486", True),  # Visa, 19
        ("376613186091399", True),  # American Express, 15
        ("3548099603082467", True),  # JCB, 16
        ("36281948219930", True),  # Diners Club, 14
        ("501851819091", True),  # Maestro, 12
        ("4526018159083013", False),  # Luhn fails
        ("452601815908301", False),  # Visa issues no 15-digit card
        ("3766131860913991", False),  # Amex issues 15 digits only
        ("9526018159083014", False),  # no issuer's range
        ("6450000000000002", False),  # made up for a test
        ("4007000000027", False),  # a processor's published test card
    ],
)
def test_a_bare_card_number_must_be_in_an_issuers_range_at_its_length(number: str, issued: bool) -> None:
    assert checksums.card_issued(number) is issued


def test_a_bare_pesel_needs_a_real_birth_date_not_in_the_future() -> None:
    assert checksums.pl_pesel_born("53072748079")
    assert checksums.pl_pesel("61852863333") and not checksums.pl_pesel_born(
        "61852863333"
    )  # born in the 1800s
    assert checksums.pl_pesel("30242527362") and not checksums.pl_pesel_born("30242527362")  # born in 2030
    assert not checksums.pl_pesel_born("53072748078")
