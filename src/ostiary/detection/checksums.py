"""Check digits and plausibility tests that separate real identifiers from look-alike numbers.

A sixteen-digit number is a card only if its Luhn digit checks; an IBAN only if mod-97 gives 1;
a high-entropy string is a secret only if it is not a placeholder. These keep false positives on
order numbers, hashes and documentation examples low.
"""

from __future__ import annotations

import base64
import binascii
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
    }
)  # fmt: skip

_PLACEHOLDER_WORDS = (
    "example", "sample", "dummy", "placeholder", "changeme", "change_me", "your_", "your-", "yourkey",
    "xxxx", "****", "<", "${", "{{", "redacted", "insert", "replace", "fake", "test_key", "notreal",
    "00000000",
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
    digits = "".join(c for c in text if c.isdigit())
    if not 13 <= len(digits) <= 19 or digits in _TEST_CARDS or len(set(digits)) < 4:
        return False
    issuer = (
        digits[0] == "4"
        or digits[:2] in {"34", "37", "36", "38", "30", "35", "62", "65"}
        or "51" <= digits[:2] <= "55"
        or "2221" <= digits[:4] <= "2720"
        or digits[:4] == "6011"
        or "644" <= digits[:3] <= "649"
    )
    return issuer and luhn(digits)


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
