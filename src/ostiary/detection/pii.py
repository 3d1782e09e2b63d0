"""Personal data rules, each validated: a check digit, a registry rule or a reserved-range test.

Validation is what keeps the false-positive rate low: order numbers fail Luhn, random
alphanumerics fail mod-97, and addresses and numbers reserved for documentation (example.com,
555-01xx, published test cards and IBANs) are not a person's data.
"""

from __future__ import annotations

from ostiary.detection import checksums
from ostiary.detection.ruleset import Rule

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


def _email(value: str) -> bool:
    local, _, domain = value.lower().rpartition("@")
    if local in _ROLE_MAILBOXES or local.startswith(("noreply", "no-reply")):
        return False
    return not (domain in _DOC_DOMAINS[:3] or domain.endswith(_DOC_DOMAINS))


def _phone(value: str) -> bool:
    digits = "".join(c for c in value if c.isdigit())
    if not 8 <= len(digits) <= 15 or len(set(digits)) < 3:
        return False
    # 555-0100..0199 is reserved for fiction and documentation in the North American plan.
    return not digits[-7:].startswith("55501")


def _iban(value: str) -> bool:
    return "".join(value.split()) not in _EXAMPLE_IBANS and checksums.iban(value)


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
            r"\+[1-9]\d{0,2}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}\b|\(\d{3}\)\s?\d{3}-\d{4}\b|\b\d{3}-\d{3}-\d{4}\b",
            0.9,
            _phone,
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
            _CARD_CONTEXT + r"[^\n\d]{0,32}(?P<value>\b\d{13,19}\b)",
            0.95,
            checksums.card_number,
            group="value",
        ),
        Rule("pii.card_number", r"^\s*\d{13,19}\s*$", 0.95, checksums.card_number),
        Rule("pii.iban", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", 0.95, _iban),
        Rule("pii.us_ssn", r"\b\d{3}-\d{2}-\d{4}\b", 0.9, checksums.us_ssn),
        Rule(
            "pii.uk_nino",
            r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
            0.9,
            checksums.uk_nino,
        ),
        Rule("pii.es_dni", r"\b\d{8}-?[A-HJ-NP-TV-Z]\b", 0.9, checksums.spanish_dni),
    ]
