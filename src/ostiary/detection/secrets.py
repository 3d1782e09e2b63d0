"""Credentials and personal data in arguments and results.

Provider tokens come from maintained rule packs run by `gitleaks.py`: gitleaks' (its regexes,
keywords, entropy floors and allowlists, including its generic rule for high-entropy values next
to a key name), and Nosey Parker's and Kingfisher's, each generated from a pinned upstream
commit (`SecretsOptions.packs` chooses them; the evaluation leaves one out). Ostiary adds what a gateway needs
beside it: a private key's whole PEM block (so redaction removes the body, not only the
header), the password in a URL's userinfo, crypt(3) password hashes, the key of an Azure
connection string, JWTs whose header decodes to JSON, bearer tokens,
password literals in the shapes people write them (`passwords.py`), random tokens by their
shape (`tokens.py`), a few bare token formats that the
pack only finds beside a keyword (Google OAuth client secrets, Telegram bot tokens), and the
look-alikes no rule pack knows from a single value (`checksums.placeholder`). Every finding is
a candidate for redaction in place.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import re2

from ostiary.detection import checksums, names, passwords, pii, tokens
from ostiary.detection.findings import Finding, Report, Severity
from ostiary.detection.gitleaks import PACKS, GitleaksHit, GitleaksRules, packs
from ostiary.detection.ruleset import Rule, RuleSet
from ostiary.detection.walker import Budget, Walk

KIND = "secret"


def _real(value: str) -> bool:
    return not checksums.placeholder(value)


# Key names whose values are identifiers or digests, not credentials, even next to "token".
_NOT_SECRET_KEY_WORDS = (
    "hash", "sha", "md5", "digest", "checksum", "etag", "commit", "integrity", "_id", "uuid",
    "count", "limit", "type", "url", "uri", "name", "length", "expir", "file", "path",
    "gpg", "pgp", "fingerprint", "public", "pubkey",
)  # fmt: skip
_UUID = re2.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


_USERINFO = re2.compile(r"^[^\s:@/]*:([^\s@/]+)@")


def _look_alike(text: str, found: GitleaksHit) -> bool:
    """A placeholder or documented example anywhere; for the generic rule also a value whose
    key names a digest or an identifier, or a UUID: what no rule pack can tell from the value."""
    value = text[found.start : found.end]
    if checksums.placeholder(value) or value.lower() in passwords.DOC_PASSWORDS:
        return True
    if _encoded_placeholder(value):
        return True
    # A connection string's documentation password (`postgres://user:password@localhost`).
    userinfo = _USERINFO.search(value)
    if userinfo is not None and not _userinfo_password(userinfo.group(1)):
        return True
    if found.last_start is not None and _expression(text[found.last_start : found.end]):
        return True
    if not found.generic:
        return False
    if names.filler(value) or names.sequential(value) or passwords.VARIABLE.search(value):
        return True
    line_start = text.rfind("\n", 0, found.match_start) + 1
    key = text[max(line_start, found.match_start - 24) : found.start].lower()
    return any(word in key for word in _NOT_SECRET_KEY_WORDS) or _UUID.match(value) is not None


_BASE64 = re2.compile(r"^[A-Za-z0-9+/_-]{16,}={0,2}$")


def _encoded_placeholder(value: str) -> bool:
    """Base64 of a documentation example (`eyJrIjoiRVhBTVBMRV…` decodes to `{"k":"EXAMPLE…`)."""
    if len(value) > 4096 or _BASE64.match(value) is None:
        return False
    padded = value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4)
    try:
        decoded = base64.b64decode(padded, altchars=b"-_" if "-" in value or "_" in value else None)
    except (binascii.Error, ValueError):
        return False
    text = decoded.decode("ascii", "ignore")
    return len(text) * 10 >= len(decoded) * 9 and checksums.placeholder(text) and len(set(text)) > 3


def _expression(value: str) -> bool:
    """The last part of a credential in parts that is code or prose, not a key: a call
    (`Buffer.from("accountKey", "base64")`) or words (`[Shared Access key goes here]`)."""
    return "(" in value or any(c.isspace() for c in value.strip())


def _userinfo_password(value: str) -> bool:
    return (
        not checksums.placeholder(value)
        and value.lower() not in passwords.DOC_PASSWORDS
        and not passwords.VARIABLE.search(value)
    )


# The keyword rule, after Yelp detect-secrets' KeywordDetector and its high-entropy strings
# read with their context: a name holding one of these words (any case, any separator, a
# provider's name glued on: `apitemplateKEY`, `edenai_token`, `clarifai access key`), then an
# assignment, a colon or whitespace, then a value of a credential's shape (`_keyword_value`).
_KEYWORDS = r"(?:key|token|secret|passw(?:or)?d|private|access|auth|credential)"
_KEYWORD_NAME = r"(?P<name>[A-Za-z0-9_.-]{0,40}" + _KEYWORDS + r"[A-Za-z0-9_.-]{0,24})"
_KEYWORD_SEPARATOR = r"(?:[\"']?[ \t]{0,3}(?:[:=]|=>|:=)|[ \t])[ \t]{0,3}[\"'`]?"
_KEYWORD_CHARS = r"[A-Za-z0-9_+/=.~-]"
_KEYWORD_RULE = (
    r"(?i)" + _KEYWORD_NAME + _KEYWORD_SEPARATOR
    + r"(?P<value>" + _KEYWORD_CHARS + r"{16,})(?:[\s\"'`,;)\]}>]|$)"
)  # fmt: skip
# The same name with no assignment, its last word a keyword joined to the value by a hyphen or
# a dot (`acmePRIVATEkey-Qm7v…`, `acme-access-4d9f…`, `acmePRIVATE.53e2…`); not in a URL's path.
_JOINED_VALUE = r"[A-Za-z0-9_+/=~]"
_KEYWORD_JOINED_RULE = (
    r"(?i)(?:^|[^A-Za-z0-9_./-])(?P<name>[A-Za-z0-9_.-]{0,40}" + _KEYWORDS + r")[.-]"
    + r"(?P<value>" + _JOINED_VALUE + r"{16,})(?:[\s\"'`,;)\]}>]|$)"
)  # fmt: skip
# A line holding only the name (a colon, `=` or YAML's `|` may end it), the value alone on the
# next line: `acme private access key` then `ZXC2…`, `api_key:` then `  Qm7v…`.
_NEXT_LINE = r"[\"']?[ \t]*(?:[:=]|=>|:=)?[ \t]*(?:[|>][-+]?)?[ \t]*\r?\n[ \t]*[\"'`]?"
_KEYWORD_NEXT_LINE_RULE = (
    r"(?im)^[ \t]*(?:[#*/-]+[ \t]*)?(?P<name>[A-Za-z0-9_. -]{0,40}" + _KEYWORDS + r"[A-Za-z0-9_.-]{0,24})"
    + _NEXT_LINE + r"(?P<value>" + _KEYWORD_CHARS + r"{16,})[\"'`]?[ \t]*$"
)  # fmt: skip
# Names that hold a keyword without naming a credential: `author`, `keyboard`, `tokenizer`.
_NOT_CREDENTIAL_NAMES = (
    "author", "keyboard", "keyword", "keyframe", "keystroke", "keycode", "keymap", "keyspace",
    "tokeniz", "monkey", "turkey", "donkey", "hockey", "whiskey", "accessib", "accessor",
    "access_log", "accesslog", "secretar", "privacy",
)  # fmt: skip
# Example UUIDs copied into documentation as every provider's key: RFC 4122's (with its
# variants' last digits) and the one Wikipedia's UUID article shows.
_EXAMPLE_UUIDS = ("123e4567-e89b-12d3-a456-4266141740", "550e8400-e29b-41d4-a716-446655440000")
_HEX = frozenset("0123456789abcdefABCDEF-")
# An OpenPGP key's long id, v4 or v5 fingerprint, as gpg prints them: upper-case hexadecimal.
_FINGERPRINT = re2.compile(r"^(?:[0-9A-F]{16}|[0-9A-F]{40}|[0-9A-F]{64})$")
# Characters before a value read for the words that name it.
_CONTEXT = 48


def _not_credential_name(name: str) -> bool:
    """Words before a value, on its line, that say it is an identifier or a digest
    (`session_id`, `tokenHash`, `Release GPG key:`), or that hold a keyword without naming a
    credential (`author`). A word of three letters is a whole part (`sha256`, `id`, `url`), a
    longer one begins or ends a part, so `courier_key`, `account_key` and `shared_secret` are
    not read as `uri`, `count` or `sha`."""
    lowered = name.lower()
    if any(word in lowered for word in _NOT_CREDENTIAL_NAMES):
        return True
    words = [word.strip("_") for word in _NOT_SECRET_KEY_WORDS]
    short = {word for word in words if len(word) <= 3}
    long = tuple(word for word in words if len(word) > 3)
    return any(
        part.rstrip("0123456789") in short or part.startswith(long) or part.endswith(long)
        for part in names.split(name)
    )


def _keyword_context(text: str, start: int, end: int) -> bool:
    """The keyword rule's value is not named, on its line, as an identifier or a digest."""
    line_start = text.rfind("\n", 0, start) + 1
    return not _not_credential_name(text[max(line_start, start - _CONTEXT) : start])


def _previous_line_context(text: str, start: int, end: int) -> bool:
    """A value alone on its line is not named, on the line before, as an identifier or a
    digest."""
    line_start = text.rfind("\n", 0, start)
    previous = text.rfind("\n", 0, max(line_start, 0)) + 1
    words = text[max(previous, line_start - _CONTEXT) : line_start]
    return line_start > 0 and not _not_credential_name(words)


def _code(value: str) -> bool:
    """A name or a reference in code, not a literal: an identifier, a path of identifiers
    (`settings.SECRET_KEY`, `./config/keys`), a path from the root or home, or names joined
    into a path or a file name (`fuzz/gnutls_pkcs8_key_parser_fuzzer.c`, `names.written`)."""
    if value.startswith(("/", "~", "_")):
        return True  # a path, or a private name (`_ListenerFnKeyType`)
    parts = value.split(".")
    if len(parts) > 1 and all(p.isidentifier() for p in parts) and any(map(names.identifier, parts)):
        return True  # `rust_openssl.hpke.SomeKey`, `HTTPResponse.headers`
    if value.isalnum() and names.choppy(value):
        return False  # `ZXC2JK3HV4TY5UIO6PLK`: no name turns case or digits so often
    if not all(names.identifier(part) for part in parts):
        # Names joined into a path or a file name, in one case or in camel case
        # (`kEnumerableProperty`, `wwwAuthenticateHeader="…"`): a key's name is evidence enough
        # that `private_rGAPQJbhBx` (a word, a separator, random characters) is a key.
        bare = value.rstrip("=")
        one_case = not (any(c.islower() for c in bare) and any(c.isupper() for c in bare))
        joined = one_case or bare.isalnum() or "/" in bare or "." in bare
        return (joined and names.written(bare)) or names.path(bare)
    return True


def _keyword_checked(rule: str) -> Callable[[str], bool]:
    """A validator reading a keyword rule's match again for its name and value."""
    compiled = re2.compile(rule)

    def valid(whole: str) -> bool:
        match = compiled.search(whole)
        return match is not None and _keyword_value(match.group("name"), match.group("value"))

    return valid


def _keyword_value(name: str, value: str) -> bool:
    """The keyword rule's value is a credential: not a placeholder, the RFC's example UUID,
    filler or a sequence, not code (an identifier, a dotted reference, a path) and not a name
    that says it holds an identifier or a digest; long and varied (its Shannon entropy above a
    floor: 3.0 bits a character for hexadecimal, 3.5 for anything else)."""
    name, value = name.strip(), value.rstrip(".-")
    if len(name) > 4 and name.lower() in value.lower():
        return False  # `SomeKey module.SomeKey` (a bare `key` may occur in random characters)
    if value.lower() in name.lower():
        return False  # `exports.SomeKeyProvider = SomeKeyProvider`
    if len(value) < 16 or value.lower().startswith(_EXAMPLE_UUIDS) or checksums.placeholder(value):
        return False
    if names.filler(value) or names.sequential(value) or _code(value):
        return False
    if _FINGERPRINT.match(value):
        return False  # `signing key 3D53839A70BC…`: an OpenPGP key's id or fingerprint
    lower = any(c.islower() for c in value)
    upper = any(c.isupper() for c in value)
    digit = any(c.isdigit() for c in value)
    if lower + upper + digit < 2:
        return False
    floor = 3.0 if sum(c.isalnum() and c not in _HEX for c in value) <= 2 else 3.5
    return checksums.entropy(value) > floor


_DJANGO_KEY = r"[a-z0-9!@#$%^&*(\-_=+)]{50}"


def _django_key(value: str) -> bool:
    """Drawn from Django's alphabet: letters, digits and its symbols, all three."""
    return (
        any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
        and any(not c.isalnum() for c in value)
        and checksums.entropy(value) >= 4.0
        and not checksums.placeholder(value)
    )


def rules() -> list[Rule]:
    """Ostiary's own credential rules: what the gitleaks pack lacks or finds only in part."""
    return [
        Rule("secret.google_oauth_secret", r"\bGOCSPX-[A-Za-z0-9_-]{28}\b", 0.95, _real),
        Rule("secret.openai_project_key", r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}", 0.9, _real),
        # Slack's token rotation (api.slack.com/authentication/rotation): refresh tokens
        # `xoxe-1-…`, and the access tokens they issue, `xoxe.xoxp-1-…` and `xoxe.xoxb-1-…`; the
        # docs fix the prefixes, not the length (gitleaks' rules require 146 and 163-166).
        Rule(
            "secret.slack_rotation_token",
            r"\bxoxe(?:\.xox[bp])?-\d-[A-Za-z0-9]{100,250}\b",
            0.9,
            _real,
            prefilter=r"xoxe(?:\.xox[bp])?-\d-[A-Za-z0-9]{8}",
        ),
        # Django's `startproject` writes `SECRET_KEY = 'django-insecure-…'`: 50 characters
        # `get_random_secret_key()` draws from `a-z0-9!@#$%^&*(-_=+)`
        # (django/core/management/utils.py); a key from the same function under a
        # `SECRET_KEY` name, whose symbols the keyword rule does not read.
        Rule(
            "secret.django_secret_key",
            r"\bdjango-insecure-" + _DJANGO_KEY,
            0.9,
            _real,
            prefilter="django-insecure-",
        ),
        Rule(
            "secret.django_secret_key",
            r"SECRET_KEY[\"']?[ \t]*[=:,][ \t]*[\"'](?P<value>" + _DJANGO_KEY + r")[\"']",
            0.8,
            _django_key,
            group="value",
            prefilter=r"SECRET_KEY[\"']?[ \t]*[=:,][ \t]*[\"'][a-z0-9!@#$%^&*(\-_=+)]{8}",
        ),
        Rule("secret.telegram_bot_token", r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b", 0.9, _real),
        Rule(
            "secret.jwt",
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}",
            0.9,
            checksums.jwt,
        ),
        Rule("secret.private_key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----", 0.99),
        # crypt(3)'s modular formats, as /etc/shadow and htpasswd hold them: MD5-crypt, bcrypt,
        # SHA-256-crypt and SHA-512-crypt. A hash is not the password, but one read is one
        # guessed offline.
        Rule(
            "secret.password_hash",
            r"\$(?:1\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{22}|2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}"
            r"|[56]\$(?:rounds=\d{1,9}\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{43}(?:[./A-Za-z0-9]{43})?)",
            0.8,
        ),
        # The key of an Azure connection string (Storage, Service Bus, Event Hubs, IoT Hub):
        # base64, which the pack's generic rule cuts at its first `/` or `+`.
        Rule(
            "secret.azure_connection_key",
            r"(?i)\b(?:AccountKey|SharedAccessKey)\s*=\s*(?P<value>[A-Za-z0-9+/]{20,}={0,2})",
            0.9,
            checksums.random_token,
            group="value",
        ),
        Rule(
            "secret.connection_password",
            r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,30}://[^\s:/@\"'<>]{1,128}:(?P<value>[^\s@/\"'<>]{1,256})@[\w.-]+",
            0.9,
            _userinfo_password,
            group="value",
            prefilter=r"://[^\s:/@\"'<>]+:[^\s@/\"'<>]+@",
        ),
        Rule(
            "secret.bearer_token",
            r"(?i)\bbearer\s+(?P<value>[A-Za-z0-9_~+/-]{24,}=*)",
            0.8,
            checksums.random_token,
            group="value",
        ),
        *passwords.rules(),
        Rule(
            "secret.keyword_assignment",
            _KEYWORD_RULE,
            0.7,
            _keyword_checked(_KEYWORD_RULE),
            group="value",
            whole=True,
            check=_keyword_context,
            prefilter=r"(?i)"
            + _KEYWORDS
            + r"[A-Za-z0-9_.-]{0,24}"
            + _KEYWORD_SEPARATOR
            + _KEYWORD_CHARS
            + "{16}",
        ),
        Rule(
            "secret.keyword_assignment",
            _KEYWORD_JOINED_RULE,
            0.7,
            _keyword_checked(_KEYWORD_JOINED_RULE),
            group="value",
            whole=True,
            check=_keyword_context,
            prefilter=r"(?i)" + _KEYWORDS + r"[.-]" + _JOINED_VALUE + "{16}",
        ),
        Rule(
            "secret.keyword_assignment",
            _KEYWORD_NEXT_LINE_RULE,
            0.7,
            _keyword_checked(_KEYWORD_NEXT_LINE_RULE),
            group="value",
            whole=True,
            check=_previous_line_context,
            prefilter=r"(?i)" + _KEYWORDS + r"[A-Za-z0-9_.-]*" + _NEXT_LINE + _KEYWORD_CHARS + "{16}",
        ),
        *tokens.rules(_keyword_context),
    ]


_PRIVATE_KEY = "secret.private_key"

# Rule ids of the packs added beside gitleaks.
_ADDED_PACKS = ("secret.np.", "secret.kingfisher.", "secret.titus.")
_ARMOUR_MAX = 64 * 1024
_ARMOUR_BODY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=: -\r\n\t")


def _armour_end(text: str, header_end: int) -> int:
    """The end of a PEM block: its END line, or where the base64 body stops if it has none."""
    footer = text.find("-----END ", header_end, header_end + _ARMOUR_MAX)
    if footer >= 0:
        close = text.find("-----", footer + 9, footer + 80)
        if close >= 0:
            return close + 5
    end = header_end
    limit = min(len(text), header_end + _ARMOUR_MAX)
    while end < limit and text[end] in _ARMOUR_BODY:
        end += 1
    return end


def _kind(rule_id: str) -> str:
    return rule_id.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class SecretsOptions:
    kinds: frozenset[str] = frozenset({"secret", "pii"})
    disabled: frozenset[str] = frozenset()
    budget: Budget = field(default_factory=Budget)
    # The maintained rule packs to run (`gitleaks.PACKS`); the evaluation leaves one out.
    packs: tuple[str, ...] = PACKS


class SecretsDetector:
    """Finds credentials and personal data; `flagged` when anything is found."""

    def __init__(self, options: SecretsOptions | None = None) -> None:
        self.options = options or SecretsOptions()
        chosen = [
            r
            for r in [*rules(), *pii.rules()]
            if _kind(r.id) in self.options.kinds and r.id not in self.options.disabled
        ]
        self.rules = RuleSet(chosen, max_hits_per_rule=MAX_HITS, lines=True)
        self.pack = (
            GitleaksRules(packs(self.options.packs), self.options.disabled)
            if KIND in self.options.kinds and self.options.packs
            else None
        )

    def find(
        self, text: str, path: str = "", pack_rules: list[int] | None = None, own: bool = True
    ) -> list[Finding]:
        """Findings in one text; `pack_rules` and `own` narrow the work to what a screen of a
        batch holding this text found possible (`find_fields`)."""
        findings = []
        utf8 = text.encode("utf-8")
        if self.pack is not None and pack_rules != []:
            for found in self.pack.find(text, utf8, pack_rules, _look_alike, MAX_HITS):
                weight = _GENERIC_WEIGHT if found.generic else _PACK_WEIGHT
                severity = Severity.of_weight(weight)
                findings.append(Finding(KIND, found.rule, severity, path, found.start, found.end, weight))
        for hit in self.rules.scan(text, utf8) if own else ():
            weight = hit.rule.weight
            end = _armour_end(text, hit.end) if hit.rule.id == _PRIVATE_KEY else hit.end
            findings.append(
                Finding(
                    _kind(hit.rule.id), hit.rule.id, Severity.of_weight(weight), path, hit.start, end, weight
                )
            )
        if len(findings) >= MAX_HITS and max(Counter(f.rule for f in findings).values()) >= MAX_HITS:
            # A rule stops reading at its cap: what lies beyond could not be redacted.
            raise TooManyFindings
        return _without_overlaps(findings)

    def scan(self, text: str, path: str = "") -> Report:
        return _guarded(lambda: self.find(text, path))

    def scan_json(self, value: Any, root: str = "") -> Report:
        walk = Walk(value, root, self.options.budget, keys=False)
        report = _guarded(lambda: self.find_fields(walk))
        report.truncated = report.truncated or walk.truncated
        return report

    def scan_fields(self, fields: Iterable[tuple[str, str]]) -> Report:
        return _guarded(lambda: self.find_fields(fields))

    def find_fields(self, fields: Iterable[tuple[str, str]]) -> list[Finding]:
        """`find` over each field. Long output comes in many small fields (4 KB blocks), and a
        rule set's pass costs a call per field: fields are screened a batch at a time, and only
        the fields of a batch in which some rule may match are read one by one."""
        findings: list[Finding] = []
        batch: list[tuple[str, str]] = []
        size = 0
        for path, text in fields:
            batch.append((path, text))
            size += len(text)
            if size >= _BATCH:
                self._find_batch(batch, findings)
                batch, size = [], 0
        self._find_batch(batch, findings)
        return findings

    def _find_batch(self, batch: list[tuple[str, str]], findings: list[Finding]) -> None:
        """Adds the batch's findings to `findings`, refusing to read on past `MAX_FINDINGS`."""
        pack_rules: list[int] | None = None
        own = True
        if len(batch) > 1:
            try:
                lines = b"\n".join(text.encode("utf-8") for _, text in batch)
            except UnicodeEncodeError:
                lines = None  # read field by field, failing where `find` fails
            if lines is not None:
                own = self.rules.in_some_line(lines)
                pack_rules = self.pack.matching(lines) if self.pack is not None else []
                if not own and not pack_rules:
                    return
        for path, text in batch:
            findings.extend(self.find(text, path, pack_rules, own))
            if len(findings) > MAX_FINDINGS:
                raise TooManyFindings


# A rule of the pack names one provider's token format; its generic rule reads a value's
# randomness beside a key name, which is weaker evidence.
_PACK_WEIGHT = 0.9
_GENERIC_WEIGHT = 0.7

# Characters of fields screened together: few enough that a batch holding a finding is read
# again cheaply, enough that a batch's call costs little beside its pass.
_BATCH = 64 * 1024


class TooManyFindings(Exception):
    """More findings than are read: of one rule in one string (`MAX_HITS`), or in one message
    (`MAX_FINDINGS`)."""


# Findings read of one rule in one string, and in one message: more than a tool result of
# ordinary data holds, few enough to bound the validators' work on hostile input (a megabyte of
# addresses). Beyond them the message is refused, since what was not read was not redacted.
MAX_HITS = 1024
MAX_FINDINGS = 2048


def _guarded(find: Callable[[], list[Finding]]) -> Report:
    """A report that says it is incomplete (`truncated`) when a rule reached its cap, so the
    inspection refuses the message rather than pass what it could not redact."""
    pii.new_message()
    try:
        return _report(find())
    except (TooManyFindings, pii.TooManyCandidates):
        report = _report([])
        report.truncated = True
        return report


def _report(findings: list[Finding]) -> Report:
    score = max((f.weight for f in findings), default=0.0)
    return Report(findings, score, bool(findings))


# Credential rules that go by a value's shape alone, with no provider's format behind them.
_GUESSES = frozenset({"secret.random_assignment"})


def _without_overlaps(findings: list[Finding]) -> list[Finding]:
    """Where rules overlap, credentials win over personal data (a password in a URL's userinfo
    also looks like an e-mail address), except a value only its randomness calls a credential;
    gitleaks' and Ostiary's own rules win over the packs added beside them (Ostiary's say which
    part of a connection string or a crypt(3) line is the secret, where a Nosey Parker rule may
    cover its user and host too; a token both name keeps the name it had), then the longest span,
    then the strongest rule."""
    if len(findings) < 2:
        return findings
    # A value that only looks random yields to a checksum that names it (a wallet address, a
    # card number): what it is beats what it resembles.
    personal = [f for f in findings if f.kind == pii.KIND]
    if personal:
        findings = [
            f
            for f in findings
            if f.rule not in _GUESSES or not any(f.start < p.end and p.start < f.end for p in personal)
        ]
    kept: list[Finding] = []
    for kind in (KIND, pii.KIND):
        ordered = sorted(
            (f for f in findings if f.kind == kind),
            key=lambda f: (f.rule.startswith(_ADDED_PACKS), f.start, f.start - f.end, -f.weight),
        )
        for finding in ordered:
            if not any(finding.start < k.end and k.start < finding.end for k in kept):
                kept.append(finding)
    return sorted(kept, key=lambda f: f.start)
