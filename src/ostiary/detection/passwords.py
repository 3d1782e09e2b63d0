"""Passwords written as literals: in an assignment or a comparison, after a key word and a
quote, in a `.netrc` entry, on a command line, in a name/value pair, or as the password argument
of a credential's constructor. What is no password here: a placeholder, a documentation password,
filler, a reference in code (`$DB_PASSWORD`, `self.cfg.password`, a path) and a value that names
the field itself (a label, a selector, a route)."""

from __future__ import annotations

from collections.abc import Callable

import re2

from ostiary.detection import checksums, names
from ostiary.detection.ruleset import ContextCheck, Rule

RULE = "secret.password_assignment"
WEIGHT = 0.75

# Key names: `password`, `passwd`, `pwd`, `passphrase`, and `pass` ending a longer name (`DB_PASS`).
_KEYS = r"(?:passw(?:or)?d|pwd|passphrase)"
_KEYS_OR_PASS = r"(?:passw(?:or)?d|pwd|passphrase|_pass\b)"  # noqa: S105 (key names)
# An assignment or a comparison, after padding that aligns a table of keys.
_OPERATOR = r"(?:===?|!==?|=>|:=|[:=])"
_QUOTE = r"(?P<quote>\\?[\"'`])"
# A literal value, ended by a quote, a separator or the line: `bcrypt(password)` and
# `os.environ["PASSWORD"]` are code, and stop at their bracket without matching.
_CHARS = r"[^\s\"'`,;()\[\]{}\\]"
_END = r"(?P<end>[\s\"'`,;)\]}\\]|$)"

_ASSIGNMENT = (
    r"(?i)[\w.-]{0,30}" + _KEYS_OR_PASS + r"(?P<rest>[\w.-]{0,20})\\?[\"']?[ \t]{0,24}" + _OPERATOR
    + r"[ \t]{0,3}" + _QUOTE + r"?(?P<value>" + _CHARS + r"{6,128})" + _END
)  # fmt: skip
# `password "hunter22"`, `the password is 'Secret123'`: a quoted value after the key word.
_SPACED = (
    r"(?i)[\w.-]{0,30}" + _KEYS + r"[\w.-]{0,20}[ \t]+(?:(?:is|was)[ \t]+)?" + _QUOTE
    + r"(?P<value>" + _CHARS + r"{6,128})\\?[\"'`]"
)  # fmt: skip
# A `.netrc` entry: `machine … login joe password pass123`.
_NETRC = r"(?i)\blogin[ \t]+\S{1,128}\s{1,16}password[ \t]+(?P<value>[^\s\"'`]{4,128})"
# A command line's password option (`--password=…`, `-Password …`), or `-p` after a user's `-u`.
_OPTION_VALUE = _QUOTE + r"?(?P<value>[^\s\"'`;|&<>\[\]-][^\s\"'`;|&<>]{3,127})"
_OPTION = r"(?i)(?:^|[\s\"'])--?(?:password|passwd|pass)(?:[ \t]+|=)" + _OPTION_VALUE
_USER_OPTION = r"(?i)(?:^|[\s\"'])-u[ \t]+\S{1,64}[ \t]+-p[ \t]+" + _OPTION_VALUE
# A name/value pair naming a credential: `<add key="SmtpPassword" value="…"/>`, a Kubernetes
# `- name: DB_PASSWORD` followed by `value: …`.
_PAIR = (
    r"(?i)\b(?:key|name)[\"']?[ \t]*[=:][ \t]*[\"']?[\w.-]{0,30}(?:passw(?:or)?d|pwd|passphrase|secret|token)"
    + r"[\w.-]{0,20}[\"']?[ \t]*,?\s{0,16}[\"']?value[\"']?[ \t]*[=:][ \t]*" + _QUOTE
    + r"?(?P<value>" + _CHARS + r"{6,128})" + _END
)  # fmt: skip
# A credential's constructor given a user and a password: `NetworkCredential("joe", "…")`,
# `HTTPBasicAuth('joe', '…')`, `UsernamePasswordCredentials(…)`, `auth=("joe", "…")`; reported from
# the user to the password, as the packs report a credential in parts, so redaction removes both.
_CALL = (
    r"(?i)(?:credentials?|basicauth|passwordauthentication|\bauth[ \t]*=[ \t]*)\([ \t]*"
    + r"[\"'](?P<parts>[^\"'\n]{1,64}[\"'][ \t]*,[ \t]*" + _QUOTE + r"(?P<value>[^\"'\n\\]{6,128}))[\"']"
)  # fmt: skip

VARIABLE = re2.compile(r"^\$\{?[A-Za-z_][A-Za-z0-9_]*")
# Default and documentation passwords.
DOC_PASSWORDS = frozenset(
    {"password", "pass", "pwd", "secret", "postgres", "root", "admin", "guest", "mysql", "redis", "test"}
)
_FORMAT_SPECS = ("%s", "%d", "%r", "%(", "{0}", "{}")
_NOT_PASSWORDS = DOC_PASSWORDS | {"required", "optional", "none", "null", "undefined"}
_FIELD_NAME = re2.compile(r"(?i)^(?:passw(?:or)?ds?|pwds?|passphrases?)[0-9]*$")


def code_reference(value: str) -> bool:
    """A value that is code, not a literal: `self.cfg.password`, `get_password(…`,
    `ssl_keyfile_password`, `DB_PASSWORD`, a shell or PHP variable (`$db_password`), a path."""
    if "(" in value or value.startswith(("/", ":")) or VARIABLE.search(value):
        return True  # a call, a path, a variable, a C++ scope (`strlen_pass::handle_assign`)
    parts = value.replace("->", ".").replace("::", ".").split(".")
    if len(parts) > 1 and all(part.isidentifier() for part in parts):
        return True
    bare = value.replace("_", "")
    return "_" in value and bare.isalpha() and (value.islower() or value.isupper())


def names_itself(value: str) -> bool:
    """A value that is a label or a name for the field, not a password: it ends as a label
    does (`Password:`), or it is words, one of them the field's own name (`passphrase`,
    `password1`, `#add-password`, `cms/sites/passwords#edit`,
    `arn:aws:iam::aws:policy/IAMUserChangePassword`)."""
    if value.endswith(":"):
        return True
    parts = names.split(value)
    named = [part for part in parts if _FIELD_NAME.match(part)]
    others = [part for part in parts if not _FIELD_NAME.match(part)]
    return bool(named) and all(p.isdigit() or len(p) <= 3 or names.word(p) for p in others)


def literal(value: str) -> bool:
    """A password literal: not a placeholder, a documentation password, filler, a sequence or
    a format string (`"wrong%d" % i`)."""
    return not (
        checksums.placeholder(value)
        or any(spec in value for spec in _FORMAT_SPECS)
        or value.lower() in _NOT_PASSWORDS
        or VARIABLE.search(value) is not None
        or names.filler(value)
        or names.sequential(value)
    )


# File extensions after the key word make a file's name (`passwd.c`, `chpasswd.8.xml`).
_EXTENSIONS = re2.compile(r"^(?:\.[A-Za-z0-9]{1,4})+$")
# A type in an annotation (`password: SecretStr`), not a value.
_TYPE_NAME = re2.compile(r"^[A-Z][a-z]+(?:[A-Z][a-z0-9]+)+$")
_QUOTES = "\"'`"


def _checked(pattern: str, unquoted: int, code: bool = True, words: bool = True) -> Callable[[str], bool]:
    """A validator reading the match again for its value and how it was written. A quoted
    literal is plainly a literal and may be shorter (6 characters) than a bare one, but must
    end at its quote (`"Incorrect passphrase"` is prose); `code`: references in code are no
    literal; `words`: a bare value may be a lower-case word (`--password options` is prose)."""
    compiled = re2.compile(pattern)
    has_end = "end" in compiled.groupindex

    def valid(whole: str) -> bool:
        match = compiled.search(whole)
        if match is None:
            return False
        value = match.group("value")
        if "rest" in compiled.groupindex and _EXTENSIONS.match(match.group("rest")):
            return False  # a file's name, not a key's (`* src/chpasswd.c: Likewise.`)
        quoted = match.group("quote") is not None if "quote" in compiled.groupindex else False
        if quoted and has_end and (match.group("end") or "") not in _QUOTES + "\\":
            return False
        if len(value) < (6 if quoted else unquoted) or not literal(value) or names_itself(value):
            return False
        if not quoted and (_TYPE_NAME.match(value) or (not words and value.isalpha() and value.islower())):
            return False
        if not quoted and value[-1] in ".," and value[:-1].isalpha() and value[1:-1].islower():
            return False  # a word ending a sentence (`--password options.`, `Likewise.`)
        if code:
            return not code_reference(value)
        return not value.replace("_", "").isupper()  # `--password PASSWORD`: a usage line's name

    return valid


_PROSE = re2.compile(r"^[ \t]+[A-Za-z]")


def _bare_value_ends(text: str, start: int, end: int) -> bool:
    """A bare value is not the first word of a sentence: `:param password: database password.`"""
    return (start > 0 and text[start - 1] in _QUOTES) or _PROSE.match(text[end : end + 2]) is None


def _rule(
    pattern: str,
    validator: Callable[[str], bool],
    prefilter: str | None = None,
    check: ContextCheck | None = None,
    group: str = "value",
) -> Rule:
    return Rule(RULE, pattern, WEIGHT, validator, group=group, whole=True, prefilter=prefilter, check=check)


def rules() -> list[Rule]:
    """The password rules, each a shape in which a password is written. The prefilters drop
    the key name's lead and bound no repeat, so the screen's automaton stays small; each still
    requires the value's end, so code such as `password_hash = bcrypt(password)` is screened out
    without running the rule."""
    value = _CHARS + "{6}" + _CHARS + r"*(?:[\s\"'`,;)\]}\\]|$)"
    assignment = r"(?i)" + _KEYS_OR_PASS + r"[\w.-]{0,20}\\?[\"']?[ \t]{0,24}" + _OPERATOR
    spaced = r"(?i)" + _KEYS + r"[\w.-]{0,20}[ \t]+(?:(?:is|was)[ \t]+)?\\?[\"'`]"
    return [
        _rule(
            _ASSIGNMENT,
            _checked(_ASSIGNMENT, 8),
            assignment + r"[ \t]{0,3}(?:\\?[\"'`])?" + value,
            _bare_value_ends,
        ),
        _rule(_SPACED, _checked(_SPACED, 6), spaced + value),
        _rule(_NETRC, _checked(_NETRC, 4, code=False)),
        _rule(_OPTION, _checked(_OPTION, 4, code=False, words=False)),
        _rule(_USER_OPTION, _checked(_USER_OPTION, 4, code=False)),
        _rule(_PAIR, _checked(_PAIR, 8)),
        _rule(_CALL, _checked(_CALL, 6, code=False), group="parts"),
    ]
