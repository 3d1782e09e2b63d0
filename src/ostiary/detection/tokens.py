"""Credentials read from their shape where no rule names their provider: a token with a
short lower-case prefix before a random body (`tvly-…`, `sbp_…`, `live_<id>_…`, the way most
providers now issue keys), and a random literal assigned to a name with no credential word
(`posthog = "phx_…"`), in the manner of Yelp detect-secrets' high-entropy strings. A value
counts as random when it mixes lower case, upper case and digits, is not a name in code
(`names.identifier`), not filler, and its Shannon entropy is near what random characters
of its length give."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable

import re2

from ostiary.detection import checksums, names
from ostiary.detection.ruleset import ContextCheck, Rule

# A prefix of up to four short lower-case parts (joined by `_`, `-` or, inside the prefix, `.`:
# `tkn.v1_`, `xoxe.xoxp-1-`), then a run of 16 letters and digits or more, not an address's
# local part (`name-Re5JQEeQqe8AvxtiuMwx3w@host`); base64's padding may end it (`tkn.v1_…U=`).
_PREFIXED = (
    r"(?:^|[^A-Za-z0-9_.+/=-])(?P<value>[a-z][a-z0-9]{1,9}(?:[_.-][A-Za-z0-9]{1,10}){0,3}[_-]"
    r"[A-Za-z0-9]{16,}(?:[_-][A-Za-z0-9]+)*={0,2})(?:[^A-Za-z0-9_+/=@-]|$)"
)
# A name (no credential word needed), an assignment, then a value of 20 characters or more.
_CHARS = r"[A-Za-z0-9_+/=.~-]"
_ASSIGNED = (
    r"(?P<name>[A-Za-z_][A-Za-z0-9_.-]{0,40})[\"']?[ \t]{0,3}(?:[:=]|=>|:=)[ \t]{0,3}"
    r"(?P<quote>[\"'`])?(?P<value>" + _CHARS + r"{20,})(?P<end>[\s\"'`,;)\]}]|$)"
)
# A line holding only a name and a value, a space between (`acme Zp4Kq9wLm2…`): the way a
# provider's name and its key are noted down when no format asks for an assignment.
_LINE_PAIR = (
    r"(?m)^[ \t]*(?P<name>[A-Za-z][A-Za-z0-9_.-]{1,40})[ \t]+"
    r"(?P<quote>[\"'`])?(?P<value>" + _CHARS + r"{20,})(?P<end>[\"'`]?)[ \t]*$"
)
# The share of a random string's entropy a value must reach: random characters of length n
# give close to log2(n) bits a character (n up to the alphabet's 64).
_RANDOMNESS = 0.8
_UUID = re2.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def random(value: str) -> bool:
    """Random characters, not a word, a name in code, filler or a documented placeholder."""
    if len(value) < 16 or checksums.placeholder(value) or _UUID.match(value):
        return False
    if not (any(c.islower() for c in value) and any(c.isupper() for c in value)):
        return False
    if not any(c.isdigit() for c in value):
        return False
    if names.filler(value) or names.sequential(value) or names.identifier(value):
        return False
    if names.written(value) or names.path(value):
        return False  # `compiler/c2/Test7002666.java`, `~cryptography.x509.RFC822Name`
    floor = _RANDOMNESS * math.log2(min(len(value), 64))
    return checksums.entropy(value) >= floor


# A digest named before its base64 (Subresource Integrity: `sha512-9qWOMFNx…==`, npm's lock files).
_DIGEST = re2.compile(r"^(?:sha\d*|md5|blake2[bs]?|blake3)[_-]")


def _prefixed(value: str) -> bool:
    """The body after the prefix is random (`ion_VNR17uGg…`), not a name (`test_someCase…`), and
    the prefix names no digest (`sha512-…`)."""
    if _DIGEST.match(value):
        return False
    body = max(re2.split(r"[_-]", value.rstrip("=")), key=len)
    if random(body) and random(value):
        return True
    prefix = value[: value.find(body)]
    return _one_case_random(body) and not any(
        part in _ID_WORDS for part in re2.split(r"[_.-]", prefix.lower())
    )


# Words in a prefix that name an identifier, a digest or a file, not a key (`build-<sha>`).
_ID_WORDS = frozenset(
    {"id", "uuid", "guid", "hash", "sha", "md5", "commit", "rev", "build", "cache", "chunk", "etag",
     "digest", "checksum", "file", "img", "tmp", "temp", "test", "session", "trace", "request", "req"}
)  # fmt: skip


# RFC 4122's and Wikipedia's example UUIDs written without their hyphens.
_EXAMPLE_UUIDS = ("123e4567e89b12d3a456", "550e8400e29b41d4a716")


def _one_case_random(body: str) -> bool:
    """A body of one case, as many providers issue keys (`key_8c5a7657fc39…`, `csk-6nptf4w5…`):
    32 characters or more of lower-case (or upper-case) letters and digits, both, not filler,
    with an entropy near what random characters of its alphabet give (0.85 of log2 of 16 for
    hexadecimal, of 36 otherwise)."""
    if len(body) < 32 or not body.isalnum() or not (body.islower() or body.isupper()):
        return False
    if not any(c.isdigit() for c in body) or checksums.placeholder(body):
        return False
    if names.filler(body) or names.sequential(body) or body.lower().startswith(_EXAMPLE_UUIDS):
        return False
    hexadecimal = all(c in "0123456789abcdefABCDEF" for c in body)
    if hexadecimal and len(body) == 40:
        return False  # a git commit id (SHA-1): `fix_0fd1a81d3547acb8…`
    alphabet = 16 if hexadecimal else 36
    return checksums.entropy(body) >= 0.85 * math.log2(alphabet)


def _assigned(pattern: str) -> Callable[[str], bool]:
    """A validator reading an assignment's match again for its value and quotes."""
    compiled = re2.compile(pattern)

    def valid(whole: str) -> bool:
        match = compiled.search(whole)
        return match is not None and _assigned_value(
            match.group("value"), match.group("quote"), match.group("end")
        )

    return valid


def _assigned_value(value: str, quote: str | None, end: str | None) -> bool:
    end = end or ""
    if quote is not None and end != quote:
        return False  # a quoted literal that goes on is prose or code, not one value
    value = value.rstrip(".")
    if value.startswith("/") or "//" in value:
        return False  # a path, or a URL after its scheme (`https://host/RxKUF5JuHs`)
    if "=" in value.rstrip("="):
        return False  # an assignment or a query (`export CROSSPREFIX=/opt/…`): base64 pads only at its end
    if "." in value and all(part.isidentifier() for part in value.split(".")):
        return False  # `module.Attribute`
    return random(value) and not _encoded_text(value)


def _encoded_text(value: str) -> bool:
    """Base64 of words (`VGhlc2UgYXJlbid0…`) or of JSON (`eyJkYXRhIjoi…`): a key decodes to
    random bytes, not to text."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return False
    printable = sum(32 <= byte < 127 for byte in decoded)
    json = decoded[:1] in (b"{", b"[") and decoded[-1:] in (b"}", b"]")  # `eyJkYXRhIjoi…`
    return (b" " in decoded or json) and printable * 10 >= len(decoded) * 9


def rules(named: ContextCheck) -> list[Rule]:
    """The shape rules; `named` is the keyword rule's test that the words before a value do not
    name an identifier or a digest (`session_id`, `sha256`), which holds here too."""
    return [
        Rule(
            "secret.prefixed_token",
            _PREFIXED,
            0.6,
            _prefixed,
            group="value",
            prefilter=r"[_-][A-Za-z0-9]{16}",
        ),
        Rule(
            "secret.random_assignment",
            _ASSIGNED,
            0.5,
            _assigned(_ASSIGNED),
            group="value",
            whole=True,
            check=named,
            prefilter=r"[:=>][ \t\"'`]{0,4}" + _CHARS + "{20}",
        ),
        Rule(
            "secret.random_assignment",
            _LINE_PAIR,
            0.5,
            _assigned(_LINE_PAIR),
            group="value",
            whole=True,
            check=named,
            # The whole line, and an upper-case letter in the value (`random` needs one), so
            # `request <uuid>` or `commit <sha>` lines in logs are screened out.
            prefilter=r"(?m)^[ \t]*[A-Za-z][A-Za-z0-9_.-]*[ \t]+[\"'`]?"
            + _CHARS
            + "*[A-Z]"
            + _CHARS
            + r"*[\"'`]?[ \t]*$",
        ),
    ]
