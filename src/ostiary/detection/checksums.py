"""Check digits and plausibility tests that separate real identifiers from look-alike numbers.

A sixteen-digit number is a card only if its Luhn digit checks; an IBAN only if mod-97 gives 1;
a high-entropy string is a secret only if it is not a placeholder. These keep false positives on
order numbers, hashes and documentation examples low.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import math
from collections import Counter

import orjson

_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24,
    "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21,
    "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30,
    "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}  # fmt: skip

# Card numbers published by payment processors for testing: documentation, not a person's card.
_TEST_CARDS = frozenset(
    {
        "4242424242424242", "4000056655665556", "5555555555554444", "2223003122003222",
        "5200828282828210", "5105105105105100", "378282246310005", "371449635398431",
        "6011111111111117", "6011000990139424", "3056930009020004", "36227206271667",
        "3566002020360505", "6200000000000005", "4111111111111111", "4012888888881881",
        "5431111111111111", "4000000000000002", "4000000000009995", "4000000000000077",
        "4007000000027", "4222222222222", "3530111333300000", "30569309025904", "38520000023237",
        "6011000000000004", "5019717010103742",
    }
)  # fmt: skip

_PLACEHOLDER_WORDS = (
    "example", "sample", "dummy", "placeholder", "changeme", "change_me", "your_", "your-", "yourkey",
    "xxxx", "****", "<", "${", "{{", "redacted", "insert", "replace", "fake", "test_key", "notreal",
    "invalid", "00000000",
    # Filler typed as a value: letters and digits counted up in turn.
    "a1b2c3", "d4c3b2a1",
)  # fmt: skip


def luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if i % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_number(text: str) -> bool:
    """A payment card: 12 to 19 digits (Maestro's shortest to the longest PAN), an issuer's
    leading digit (3 Amex/Diners/JCB, 4 Visa, 5 Mastercard/Maestro, 6 Discover/UnionPay/Maestro,
    2221-2720 Mastercard, 2131 and 1800 JCB's fifteen-digit cards), and a Luhn check digit."""
    digits = "".join(c for c in text if c.isdigit())
    if not 12 <= len(digits) <= 19 or digits in _TEST_CARDS or len(set(digits)) < 4:
        return False
    issuer = digits[0] in "3456" or "2221" <= digits[:4] <= "2720" or digits[:4] in ("2131", "1800")
    return issuer and luhn(digits)


# Issuer identification number ranges and the lengths each network issues, from the networks'
# published tables (as Presidio's and python-stdnum's card code read them). A bare digit run is
# taken as a card only inside one of these, which most order numbers and ids are not.
_CARD_RANGES: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("4", "4", frozenset({13, 16, 19})),  # Visa
    ("51", "55", frozenset({16})),  # Mastercard
    ("2221", "2720", frozenset({16})),  # Mastercard 2-series
    ("34", "34", frozenset({15})),  # American Express
    ("37", "37", frozenset({15})),
    ("300", "305", frozenset({14, 15, 16, 17, 18, 19})),  # Diners Club
    ("36", "36", frozenset({14, 15, 16, 17, 18, 19})),
    ("38", "39", frozenset({16, 17, 18, 19})),
    ("3528", "3589", frozenset({16, 17, 18, 19})),  # JCB
    ("6011", "6011", frozenset({16, 17, 18, 19})),  # Discover
    ("644", "649", frozenset({16, 17, 18, 19})),
    ("65", "65", frozenset({16, 17, 18, 19})),
    ("62", "62", frozenset({16, 17, 18, 19})),  # UnionPay
    ("50", "50", frozenset({12, 13, 14, 15, 16, 17, 18, 19})),  # Maestro
    ("56", "58", frozenset({12, 13, 14, 15, 16, 17, 18, 19})),
    ("6304", "6304", frozenset({12, 13, 14, 15, 16, 17, 18, 19})),
    ("6390", "6390", frozenset({12, 13, 14, 15, 16, 17, 18, 19})),
    ("67", "67", frozenset({12, 13, 14, 15, 16, 17, 18, 19})),
)


def card_issued(text: str) -> bool:
    """A number a card network issues: inside an issuer's range at a length that network uses,
    with a Luhn digit. Stricter than `card_number`, for digit runs with nothing naming a card."""
    digits = "".join(c for c in text if c.isdigit())
    # Seven zeros in a row: a number made up for a test (`6450000000000002`), not an account.
    if digits in _TEST_CARDS or len(set(digits)) < 4 or "0000000" in digits:
        return False
    length = len(digits)
    issued = any(
        low <= digits[: len(low)] <= high and length in lengths for low, high, lengths in _CARD_RANGES
    )
    return issued and luhn(digits)


def iban(text: str) -> bool:
    compact = "".join(text.split()).upper()
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def us_ssn(text: str) -> bool:
    area, group, serial = text[:3], text[4:6], text[7:11]
    if area in {"000", "666"} or area >= "900" or group == "00" or serial == "0000":
        return False
    # Numbers the Social Security Administration reserved for advertising and examples.
    return text not in {"078-05-1120", "219-09-9999", "123-45-6789"}


def spanish_dni(text: str) -> bool:
    digits, letter = text[:8], text[-1].upper()
    return digits.isdigit() and "TRWAGMYFPDXBNJZSQVHLCKE"[int(digits) % 23] == letter


def uk_nino(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    prefix = compact[:2]
    return prefix not in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"} and prefix[1] != "O"


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    counts = Counter(text)
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


def placeholder(text: str) -> bool:
    lowered = text.lower()
    if any(word in lowered for word in _PLACEHOLDER_WORDS):
        return True
    return len(set(lowered)) <= 3


def random_token(text: str, min_entropy: float = 3.5) -> bool:
    """A credential-like value: long, varied, mixing character classes, not a placeholder."""
    if placeholder(text) or entropy(text) < min_entropy:
        return False
    classes = sum(
        (any(c.islower() for c in text), any(c.isupper() for c in text), any(c.isdigit() for c in text))
    )
    return classes >= 2


def jwt(text: str) -> bool:
    """Only a token whose header decodes to JSON naming an algorithm is a JWT."""
    header = text.split(".", 1)[0]
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return False
    return isinstance(decoded, dict) and "alg" in decoded


def us_itin(text: str) -> bool:
    """IRS individual taxpayer numbers: 9XX, then a group the IRS assigns (50-65, 70-88, 90-92, 94-99)."""
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) != 9 or digits[0] != "9":
        return False
    group = int(digits[3:5])
    return 50 <= group <= 65 or 70 <= group <= 88 or 90 <= group <= 92 or 94 <= group <= 99


_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)  # fmt: skip
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)  # fmt: skip


def verhoeff(digits: str) -> bool:
    check = 0
    for i, char in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][ord(char) - 48]]
    return check == 0


def in_aadhaar(text: str) -> bool:
    """UIDAI's twelve digits: never starting 0 or 1, the last a Verhoeff check digit."""
    digits = "".join(c for c in text if c.isdigit())
    return len(digits) == 12 and digits[0] not in "01" and len(set(digits)) > 2 and verhoeff(digits)


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


def au_tfn(text: str) -> bool:
    """Australian tax file number: weights 1 4 3 7 5 8 6 9 10, sum divisible by 11."""
    digits = "".join(c for c in text if c.isdigit())
    return (
        len(digits) == 9
        and len(set(digits)) > 2
        and _weighted(digits, (1, 4, 3, 7, 5, 8, 6, 9, 10)) % 11 == 0
    )


def au_abn(text: str) -> bool:
    """Australian business number: first digit less one, weights 10 1 3 5 ... 19, mod 89."""
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) != 11 or digits[0] == "0":
        return False
    adjusted = str(int(digits[0]) - 1) + digits[1:]
    return _weighted(adjusted, (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)) % 89 == 0


def au_medicare(text: str) -> bool:
    """Medicare card: first digit 2-6, ninth digit the weighted sum (1 3 7 9 1 3 7 9) mod 10."""
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) not in (10, 11) or digits[0] not in "23456":
        return False
    return _weighted(digits[:8], (1, 3, 7, 9, 1, 3, 7, 9)) % 10 == int(digits[8])


def sg_nric(text: str) -> bool:
    """Singapore NRIC/FIN (S, T, F, G series): weights 2 7 6 5 4 3 2 and the series' letter table."""
    value = text.upper()
    if len(value) != 9 or value[0] not in "STFG" or not value[1:8].isdigit():
        return False
    total = _weighted(value[1:8], (2, 7, 6, 5, 4, 3, 2)) + (4 if value[0] in "TG" else 0)
    letters = "JZIHGFEDCBA" if value[0] in "ST" else "XWUTRQPNMLK"
    return letters[total % 11] == value[8]


def spanish_nie(text: str) -> bool:
    compact = text.replace("-", "").upper()
    if len(compact) != 9 or compact[0] not in "XYZ":
        return False
    return spanish_dni(str("XYZ".index(compact[0])) + compact[1:])


_CF_ODD = dict(
    zip(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        (1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8,
         12, 14, 16, 10, 22, 25, 24, 23),
        strict=True,
    )
)  # fmt: skip


def it_fiscal_code(text: str) -> bool:
    """Italian codice fiscale: the sixteenth letter checks the first fifteen (odd/even tables)."""
    value = text.upper()
    if len(value) != 16:
        return False
    total = 0
    for i, char in enumerate(value[:15]):
        total += _CF_ODD[char] if i % 2 == 0 else (int(char) if char.isdigit() else ord(char) - 65)
    return chr(65 + total % 26) == value[15]


def pl_pesel(text: str) -> bool:
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) != 11:
        return False
    check = (10 - _weighted(digits[:10], (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)) % 10) % 10
    month = int(digits[2:4]) % 20
    return check == int(digits[10]) and 1 <= month <= 12 and 1 <= int(digits[4:6]) <= 31


def pl_pesel_born(text: str) -> bool:
    """A PESEL whose check digit holds and whose date is a real birth date of the 1900s or 2000s
    (month plus 0 or 20), not in the future: one random eleven-digit number in some 210 passes
    where `pl_pesel` lets one in 55 through; what a PESEL with no word naming it must meet."""
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) != 11 or not pl_pesel(digits) or len(set(digits)) < 4:
        return False
    month = int(digits[2:4])
    year = int(digits[:2]) + (1900 if month <= 12 else 2000)
    try:
        born = datetime.date(year, month % 20, int(digits[4:6]))
    except ValueError:
        return False
    return month < 40 and born <= datetime.date.today()


def uk_nhs(text: str) -> bool:
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) != 10 or len(set(digits)) < 3:
        return False
    check = 11 - _weighted(digits[:9], (10, 9, 8, 7, 6, 5, 4, 3, 2)) % 11
    return check != 10 and check % 11 == int(digits[9])


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58check(text: str) -> bool:
    """Base58 with a four-byte double-SHA-256 checksum (Bitcoin's P2PKH and P2SH addresses)."""
    number = 0
    for char in text:
        index = _B58.find(char)
        if index < 0:
            return False
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    raw = b"\0" * (len(text) - len(text.lstrip("1"))) + body
    if len(raw) < 5:
        return False
    return hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            check ^= generator[i] if (top >> i) & 1 else 0
    return check


def bech32(text: str) -> bool:
    """BIP-173 bech32 or BIP-350 bech32m checksum (SegWit and Taproot addresses)."""
    if text.lower() != text and text.upper() != text:
        return False
    value = text.lower()
    hrp, sep, data = value.rpartition("1")
    if not sep or not hrp or len(data) < 6 or any(c not in _BECH32 for c in data):
        return False
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    return _bech32_polymod(expanded + [_BECH32.index(c) for c in data]) in (1, 0x2BC830A3)


def eip55(text: str) -> bool:
    """An Ethereum address whose letters' case matches the Keccak-256 of its lower-case hex."""
    from Crypto.Hash import keccak  # noqa: PLC0415 (only a mixed-case address needs it)

    body = text[2:]
    digest = keccak.new(digest_bits=256, data=body.lower().encode()).hexdigest()
    return all(
        (c.isupper() if int(h, 16) >= 8 else c.islower())
        for c, h in zip(body, digest, strict=False)
        if c.isalpha()
    )
