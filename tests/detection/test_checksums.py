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
