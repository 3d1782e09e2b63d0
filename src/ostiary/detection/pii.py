"""Personal data rules, each validated: a check digit, a numbering plan, or a reserved-range test.

Validation is what keeps the false-positive rate low: order numbers fail Luhn, random
alphanumerics fail mod-97, a digit run is a phone number only if Google's libphonenumber
(`phonenumbers`) says the numbering plan assigns it, a crypto address only if its checksum
(Base58Check, bech32/bech32m, EIP-55) holds, and addresses and numbers reserved for
documentation (example.com, 555-01xx, 192.0.2.0/24, 2001:db8::/32, published test cards and
IBANs) are not a person's data. Identifiers with a weak check (one in ten or eleven random
numbers passes) are taken beside a word naming them, as Presidio's recognisers do; with no such
word, only where the value itself says more: a card number in an issuer's range at its network's
length, a phone number grouped as its region writes it, a PESEL holding a real birth date.
The rule id is the category: `pii.<category>`.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import threading

import re2

from ostiary.detection import checksums
from ostiary.detection.ruleset import ContextCheck, Rule

KIND = "pii"

_DOC_DOMAINS = ("example.com", "example.org", "example.net", ".example", ".test", ".invalid", ".localhost")
_ROLE_MAILBOXES = frozenset({"git", "noreply", "no-reply", "donotreply", "do-not-reply", "mailer-daemon"})
_EXAMPLE_IBANS = frozenset(
    {"GB82WEST12345698765432", "DE89370400440532013000", "FR1420041010050500013M02606", "NL91ABNA0417164300",
     "GB29NWBK60161331926819", "GB33BUKB20201555555555", "CH9300762011623852957", "BE68539007547034"}
)  # fmt: skip


_CARD_CONTEXT = (
    r"(?i)(?:card|credit|debit|visa|master\s*card|amex|american\s+express|discover|\bpan\b|\bcc\b|payment"
    r"|kreditkarte|tarjeta|carte|carta)"
)
# Regions tried for a national-format number written beside a word naming a phone.
_REGIONS = (
    "US", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "IE", "PT", "PL", "CZ", "SE", "NO", "DK",
    "FI", "IN", "AU", "NZ", "CA", "BR", "MX", "AR", "JP", "KR", "CN", "TW", "SG", "ZA", "RU", "UA", "TR",
    "IL",
)  # fmt: skip
_PHONE_WORDS = (
    r"(?i:phone|tel\b|tel\.|telephone|mobile|cell|fax|call|sms|whatsapp|contact|téléphone|portable|telefon"
    r"|handy|teléfono|móvil|celular|telefone|telefono|cellulare|電話|携帯|手机|전화)"
)


def _email(value: str) -> bool:
    local, _, domain = value.lower().rpartition("@")
    if local in _ROLE_MAILBOXES or local.startswith(("noreply", "no-reply")):
        return False
    return not (domain in _DOC_DOMAINS[:3] or domain.endswith(_DOC_DOMAINS))


def _fictional(digits: str) -> bool:
    # 555-0100..0199 is reserved for fiction and documentation in the North American plan.
    return digits[-7:].startswith("55501") or len(set(digits)) < 3


def _phone_international(value: str) -> bool:
    # libphonenumber loads when the first candidate number is checked, not with the gateway:
    # most gateways see few numbers, and it holds a share of the memory budget.
    import phonenumbers  # noqa: PLC0415

    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return False
    if not phonenumbers.is_valid_number(number):
        return _rejected()
    return not _fictional(str(number.country_code) + str(number.national_number))


def _phone_international_possible(value: str) -> bool:
    """A `+CC` number of a length the country's plan allows, in a block of the plan not (yet)
    assigned: written in international form, it is still meant as a phone number. The North
    American plan's own structure still applies (`+1-911-…` is no one's number)."""
    import phonenumbers  # noqa: PLC0415  (on the first candidate, as above)

    compact = value.replace("(0)", " ")
    try:
        number = phonenumbers.parse(compact, None)
    except phonenumbers.NumberParseException:
        return _rejected()
    if phonenumbers.is_valid_number(number):
        return False  # the stronger rule's finding
    if not phonenumbers.is_possible_number(number):
        return _rejected()
    if number.country_code == 1:
        return _phone_north_american(str(number.national_number))
    return not _fictional(str(number.country_code) + str(number.national_number))


def _phone_north_american(value: str) -> bool:
    """The North American plan's published structure: area code and exchange each start 2-9
    and are not N11 codes. Written in its own format, that is a phone number, whether or not
    the area code is assigned yet (libphonenumber's `is_valid_number` asks the latter)."""
    main, _, _ext = value.lower().replace("ext", "x").partition("x")
    digits = "".join(c for c in main if c.isdigit())
    digits = digits[3:] if digits.startswith("001") else digits[1:] if len(digits) == 11 else digits
    if len(digits) != 10 or _fictional(digits):
        return False
    area, exchange = digits[:3], digits[3:6]
    return area[0] in "23456789" and exchange[0] in "23456789" and area[1:] != "11" and exchange[1:] != "11"


def _phone_national(value: str) -> bool:
    if value.lstrip("(").startswith("+"):
        return _phone_international(value)
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) < 7 or _fictional(digits):
        return False
    import phonenumbers  # noqa: PLC0415  (on the first candidate, as above)

    for region in _REGIONS:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(value, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


# Digit groups that are something else: a date, a span of years, a standard and its year
# (`IEEE 1800-2009`), a ZIP+4 code, the US SSN's shape, a decimal (a coordinate) or decimals in
# a row, a round number with thousands separators, and bytes printed in hex (`<Buffer 88 13 70
# 17>`; a phone number in pairs is five pairs led by a trunk `0`, as France writes them).
_DIGIT_GROUPS = re2.compile(r"\d+")
_NOT_A_PHONE = re2.compile(
    r"^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|\d{3,5}\s?[-–]\s?(?:19|20)\d\d"
    r"|\d{5}-\d{4}|\d{3}-\d{2}-\d{4}|\d+[.,]\d+|\d+\.\d+ .*|.* \d+\.\d+|\d{1,3}(?: \d{3})* 000"
    r"|\d\d(?: \d\d){1,3}|[1-9]\d(?: \d\d)+)$"
)


class TooManyCandidates(Exception):
    """More phone-shaped candidates failed libphonenumber in one message than are read."""


# Candidates that libphonenumber rejected, per message: each costs up to a few hundred
# microseconds, so a hostile megabyte of phone-shaped digit groups must not be read to its end.
# Numbers that validate are findings, bounded as findings are.
MAX_REJECTED_PHONES = 256
_spent = threading.local()


def new_message() -> None:
    """Starts the rejected-candidate count of one message (called where a scan begins)."""
    _spent.phones = 0


def _rejected() -> bool:
    spent = getattr(_spent, "phones", 0) + 1
    _spent.phones = spent
    if spent > MAX_REJECTED_PHONES:
        raise TooManyCandidates
    return False


@functools.cache
def _plans() -> tuple[tuple[str, str, frozenset[int], re.Pattern[str]], ...]:
    """Per region: its trunk prefix, the lengths and the pattern of its national numbers, from
    libphonenumber's metadata, to skip the regions a digit run cannot belong to before parsing."""
    import phonenumbers  # noqa: PLC0415  (on the first candidate, as above)

    plans = []
    for region in _REGIONS:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if meta is None or meta.general_desc is None:
            continue
        general = meta.general_desc
        plans.append(
            (
                region,
                meta.national_prefix or "",
                frozenset(general.possible_length or ()),
                re.compile(general.national_number_pattern or ".*"),
            )
        )
    return tuple(plans)


def _cuts(groups: list[str]) -> set[int]:
    """Where digit groups end, counted in digits from the start."""
    cuts, total = set(), 0
    for group in groups[:-1]:
        total += len(group)
        cuts.add(total)
    return cuts


def _phone_grouped(value: str) -> bool:
    """A national number with nothing naming it: valid in one of the regions, and grouped as that
    region groups its numbers (libphonenumber's national format may join groups, never split
    them: `070-4763-7971` in Japan, `04 67 77 66 91` in France, `0117 4960400` in Britain), never
    a bare digit run, a date or a number with thousands separators."""
    digits = "".join(c for c in value if c.isdigit())
    if not 8 <= len(digits) <= 12 or _NOT_A_PHONE.search(value) or _fictional(digits):
        return False
    cuts = _cuts(_DIGIT_GROUPS.findall(value))
    return _grouped_in_a_region(value, digits, cuts) or _rejected()


def _grouped_in_a_region(value: str, digits: str, cuts: set[int]) -> bool:
    import phonenumbers  # noqa: PLC0415  (on the first candidate, as above)

    for region, prefix, lengths, pattern in _plans():
        national = digits[len(prefix) :] if prefix and digits.startswith(prefix) else digits
        if len(national) not in lengths or pattern.fullmatch(national) is None:
            continue
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(number):
            continue
        formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        groups = _DIGIT_GROUPS.findall(formatted)
        if "".join(groups) == digits and cuts <= _cuts(groups):
            return True
    return False


def _iban(value: str) -> bool:
    return "".join(value.split()) not in _EXAMPLE_IBANS and checksums.iban(value)


_NOT_PERSONAL_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("0.0.0.0/8", "127.0.0.0/8", "255.255.255.255/32", "192.0.2.0/24", "198.51.100.0/24",
              "203.0.113.0/24", "224.0.0.0/4", "::/128", "::1/128", "2001:db8::/32", "fe80::/10", "ff00::/8")
)  # fmt: skip
_VERSION_BEFORE = re2.compile(
    r"(?i)(?:\bv|version|ver\.?|release|rev\.?|\brv:|build|python|node|go|==|>=|<=|~=|!=|@|\^|~)\s*$"
)
_CIDR_AFTER = re2.compile(r"^/\d")


def _ip(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return not any(address in network for network in _NOT_PERSONAL_NETWORKS)


def _ipv4_context(text: str, start: int, end: int) -> bool:
    """Not part of a longer dotted run (an OID, a four-part version), nor after a version word,
    and not a netmask."""
    before, after = text[max(0, start - 12) : start], text[end : end + 2]
    if before.endswith(".") or before[-1:].isalnum() or after[:1].isalnum() or after[:1] in "-+":
        return False
    if after[:1] == "." and after[1:2].isdigit():
        return False
    if _VERSION_BEFORE.search(before) or _CIDR_AFTER.search(text[end : end + 2]):
        return False
    return not text[start:end].startswith("255.")


def _ipv6_context(text: str, start: int, end: int) -> bool:
    value = text[start:end]
    before, after = text[start - 1 : start], text[end : end + 1]
    if before and (before.isalnum() or before in ":."):
        return False
    if after and (after.isalnum() or after in ":/%"):
        return False  # a network (`2002::/16`) or a scoped link-local address (`fe80::1%eth0`)
    return sum(c.isdigit() for c in value) >= 1 and value.count(":") >= 2


def _near(words: str, window: int = 48) -> ContextCheck:
    """A context check: one of `words` within `window` characters before the value."""
    pattern = re2.compile(words)

    def check(text: str, start: int, end: int) -> bool:
        return pattern.search(text[max(0, start - window) : start]) is not None

    return check


def _eth(value: str) -> bool:
    body = value[2:]
    if body.lower() == body or body.upper() == body:
        return len(set(body.lower())) > 4
    return checksums.eip55(value)


def _eth_context(text: str, start: int, end: int) -> bool:
    """A mixed-case address carries its own checksum; a one-case one needs a word naming it."""
    body = text[start + 2 : end]
    if body.lower() != body and body.upper() != body:
        return True
    return _near(r"(?i)eth|ether|wallet|address|recipient|send|pay|deposit")(text, start, end)


def _not_in_base64(text: str, start: int, end: int) -> bool:
    """Base58 runs abound inside base64 (an image, a key body): there, `+`, `/` or `=` touch them."""
    return text[start - 1 : start] not in ("+", "/") and text[end : end + 1] not in ("+", "/", "=")


def _ssn_undashed(value: str) -> bool:
    digits = value.replace(" ", "")
    return checksums.us_ssn(f"{digits[:3]}-{digits[3:5]}-{digits[5:]}")


_GROUP_BEYOND = re2.compile(r"^[ -]\d")
_GROUP_BEFORE = re2.compile(r"\d[ -]$")


def _standalone(text: str, start: int, end: int) -> bool:
    """Not a run of groups inside a longer one (four groups of a card number hold three)."""
    return not (
        _GROUP_BEYOND.search(text[end : end + 2]) or _GROUP_BEFORE.search(text[max(0, start - 2) : start])
    )


_TOUCHING = frozenset(".,:/#=+-@$_")


def _nothing_after(text: str, end: int) -> bool:
    """No word character next, nor punctuation or a space that joins another group to it."""
    after = text[end : end + 2]
    if not after:
        return True
    first = after[0]
    if first.isalnum() or first == "_":
        return False
    if len(after) < 2 or not (after[1].isalnum() or after[1] == "_"):
        return True
    return not (first in ".,:/-+%" or (first == " " and after[1].isdigit()))


def _lone(text: str, start: int, end: int) -> bool:
    """A number standing by itself in prose or a value: not the tail of a decimal, a version, a
    path, a hash, a key or a longer run of digit groups (a hex dump, thousands separators)."""
    before = text[max(0, start - 2) : start]
    if before:
        last = before[-1]
        if last.isalnum() or last in _TOUCHING or (last in " .,-" and before[:1].isdigit()):
            return False
    return _nothing_after(text, end)


_OTHER_NUMBER = re2.compile(
    r"(?i)(?:order|invoice|tracking|shipment|parcel|ticket|ref\b|reference|transaction|txn|serial|isbn|ean|gtin"
    r"|sku|\bid\b|_id\b|timestamp|epoch|nonce|seed|bestellung|rechnung|commande|factura|pedido)[^\n\d]{0,24}$"
)


def _lone_unnamed(text: str, start: int, end: int) -> bool:
    """A lone number that no word just before names as another kind of number (an order, an
    invoice, a tracking or transaction number, an id, a seed)."""
    return _lone(text, start, end) and not _OTHER_NUMBER.search(text[max(0, start - 40) : start])


def _lone_plus(text: str, start: int, end: int) -> bool:
    """A `+CC` number after a space, a quote, a bracket or `tel:`, not a sum or a diff count."""
    before = text[start - 1 : start]
    return (not before or not (before.isalnum() or before in "+-=*/.")) and _nothing_after(text, end)


def rules() -> list[Rule]:
    return [
        Rule(
            "pii.email",
            r"(?i)\b[a-z0-9._%+-]{1,64}@(?:[a-z0-9-]{1,63}\.){1,8}[a-z]{2,24}\b",
            0.9,
            _email,
            prefilter=r"(?i)[a-z0-9._%+-]@[a-z0-9-]",
        ),
        Rule(
            "pii.phone",
            r"\+[1-9][\d\s().-]{6,22}\d\b",
            0.9,
            _phone_international,
        ),
        Rule(
            "pii.phone",
            r"\+[1-9][\d\s().-]{6,22}\d\b",
            0.6,
            _phone_international_possible,
            check=_lone_plus,
        ),
        Rule(
            "pii.phone",
            r"\(\d{1,5}\)[ .-]?\d{2,8}(?:[ .-]\d{2,8}){0,3}\b|\b\d{2,5}[ .-]\d{5,8}\b"
            r"|\b\d{2,5}(?:[ .-]\d{2,8}){2,4}\b",
            0.6,
            _phone_grouped,
            check=_lone,
        ),
        Rule(
            "pii.phone",
            r"(?:\b1[\s.-]?|\b001[\s.-])?(?:\(\d{3}\)[\s.-]?|\b\d{3}[-.\s])\d{3}[-.]\d{4}"
            r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?\b",
            0.85,
            _phone_north_american,
        ),
        Rule(
            "pii.phone",
            _PHONE_WORDS + r"[^\n\d+]{0,24}(?P<value>\+?\(?\d[\d\s().-]{5,18}\d)",
            0.85,
            _phone_national,
            group="value",
        ),
        # Grouped as printed on cards, anywhere; a bare digit run only beside a word naming a card,
        # or as a whole value, since order numbers and ids are bare digit runs too.
        Rule(
            "pii.card_number",
            r"\b\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{1,7}\b|\b\d{4}[ -]\d{6}[ -]\d{4,5}\b",
            0.95,
            checksums.card_number,
        ),
        Rule(
            "pii.card_number",
            _CARD_CONTEXT + r"[^\n\d]{0,32}(?P<value>\b\d{12,19}\b)",
            0.95,
            checksums.card_number,
            group="value",
        ),
        Rule("pii.card_number", r"^\s*\d{12,19}\s*$", 0.95, checksums.card_number),
        # A bare digit run, as Presidio's card recogniser takes one: in an issuer's range, at a
        # length that network issues, with a Luhn digit, and standing by itself.
        Rule("pii.card_number", r"\b[2-6]\d{11,18}\b", 0.6, checksums.card_issued, check=_lone_unnamed),
        Rule("pii.iban", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", 0.95, _iban),
        Rule(
            "pii.ip_address",
            r"\b(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\b",
            0.7,
            _ip,
            check=_ipv4_context,
        ),
        Rule(
            "pii.ip_address",
            r"(?i)(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,5})?",
            0.7,
            _ip,
            check=_ipv6_context,
        ),
        Rule("pii.us_ssn", r"\b\d{3}-\d{2}-\d{4}\b", 0.9, checksums.us_ssn),
        Rule(
            "pii.us_ssn",
            r"(?i:ssn|social security)[^\n\d]{0,24}(?P<value>\b\d{3} \d{2} \d{4}\b|\b\d{9}\b)",
            0.85,
            lambda v: checksums.us_ssn(
                f"{v.replace(' ', '')[:3]}-{v.replace(' ', '')[3:5]}-{v.replace(' ', '')[5:]}"
            ),
            group="value",
        ),
        Rule("pii.us_itin", r"\b9\d{2}-\d{2}-\d{4}\b", 0.85, checksums.us_itin),
        Rule(
            "pii.us_itin",
            r"(?i:itin|taxpayer)[^\n\d]{0,32}(?P<value>\b9\d{2} ?\d{2} ?\d{4}\b)",
            0.85,
            checksums.us_itin,
            group="value",
        ),
        Rule(
            "pii.us_passport",
            r"(?i:passport)[^\n]{0,32}?(?P<value>\b[A-Z]?\d{8,9}\b)",
            0.75,
            lambda v: len(set(v)) > 3,
            group="value",
        ),
        Rule(
            "pii.us_driver_license",
            r"(?i:driver'?s?\s*licen[cs]e|\bDLN?\b|licen[cs]e\s*(?:no|number|#))[^\n]{0,24}?"
            r"(?P<value>\b[A-Z]{0,2}\d{5,14}\b|\b[A-Z]\d{3}-\d{4}-\d{4}\b)",
            0.7,
            lambda v: len(set(v)) > 3,
            group="value",
        ),
        Rule("pii.sg_nric", r"\b[STFGstfg]\d{7}[A-Za-z]\b", 0.9, checksums.sg_nric),
        Rule("pii.in_pan", r"\b[A-Z]{3}[ABCFGHLJPT][A-Z]\d{4}[A-Z]\b", 0.8, lambda v: len(set(v[:5])) > 1),
        Rule(
            "pii.in_aadhaar",
            r"\b[2-9]\d{3}[ -]\d{4}[ -]\d{4}\b",
            0.85,
            checksums.in_aadhaar,
            check=_standalone,
        ),
        Rule(
            "pii.in_aadhaar",
            r"(?i:aadhaar|aadhar|uidai|\buid\b)[^\n\d]{0,24}(?P<value>\b[2-9]\d{11}\b)",
            0.85,
            checksums.in_aadhaar,
            group="value",
        ),
        Rule(
            "pii.au_tfn",
            r"\b\d{3} \d{3} \d{3}\b",
            0.75,
            checksums.au_tfn,
            check=_near(r"(?i)\btfn\b|tax file"),
        ),
        Rule(
            "pii.au_tfn",
            r"(?i:\btfn(?:\b|_)|tax file)[^\n\d]{0,24}(?P<value>\b\d{3}[ -]?\d{3}[ -]?\d{2,3}\b)",
            0.85,
            checksums.au_tfn,
            group="value",
        ),
        Rule(
            "pii.au_abn",
            r"(?i:\babn(?:\b|_)|business number)[^\n\d]{0,24}(?P<value>\b\d{2} ?\d{3} ?\d{3} ?\d{3}\b)",
            0.85,
            checksums.au_abn,
            group="value",
        ),
        Rule(
            "pii.au_medicare",
            r"(?i:medicare)[^\n\d]{0,24}(?P<value>\b\d{4} ?\d{5} ?\d{1,2}\b)",
            0.85,
            checksums.au_medicare,
            group="value",
        ),
        Rule(
            "pii.uk_nino",
            r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
            0.9,
            checksums.uk_nino,
        ),
        Rule(
            "pii.uk_nhs",
            r"(?i:\bnhs(?:\b|_))[^\n\d]{0,24}(?P<value>\b\d{3}[ -]?\d{3}[ -]?\d{4}\b)",
            0.85,
            checksums.uk_nhs,
            group="value",
        ),
        Rule("pii.es_dni", r"\b\d{8}-?[A-HJ-NP-TV-Z]\b", 0.9, checksums.spanish_dni),
        Rule("pii.es_nie", r"\b[XYZ]-?\d{7}-?[A-HJ-NP-TV-Z]\b", 0.9, checksums.spanish_nie),
        Rule(
            "pii.it_fiscal_code",
            r"\b[A-Z]{6}\d{2}[A-EHLMPRST]\d{2}[A-Z]\d{3}[A-Z]\b",
            0.9,
            checksums.it_fiscal_code,
        ),
        Rule(
            "pii.pl_pesel",
            r"(?i:pesel)[^\n\d]{0,24}(?P<value>\b\d{11}\b)",
            0.85,
            checksums.pl_pesel,
            group="value",
        ),
        Rule("pii.pl_pesel", r"\b\d{11}\b", 0.35, checksums.pl_pesel_born, check=_lone_unnamed),
        Rule(
            "pii.crypto_address",
            r"\b[13][1-9A-HJ-NP-Za-km-z]{25,34}\b",
            0.9,
            checksums.base58check,
            check=_not_in_base64,
        ),
        Rule(
            "pii.crypto_address",
            r"\b(?:bc|tb|BC|TB)1[02-9ac-hj-np-zAC-HJ-NP-Z]{11,71}\b",
            0.9,
            checksums.bech32,
        ),
        Rule("pii.crypto_address", r"\b0x[0-9a-fA-F]{40}\b", 0.85, _eth, check=_eth_context),
    ]
