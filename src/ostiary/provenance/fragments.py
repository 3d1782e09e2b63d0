"""The distinctive parts of a text that, found again in a call's arguments, show where they came
from: URLs, e-mail addresses, account numbers, file paths, shell commands, and runs of words.

Everything here is one pass over the text (a split, a `\\w+` scan, a line scan) with no pattern
that can backtrack, so the cost is linear in the text. Runs of words are kept as winnowed
fingerprints (Schleimer, Wilkerson and Aiken, SIGMOD 2003): hashes of K-word shingles, of which
only the smallest in each window of W is kept. Any run of at least K + W - 1 words that a result
and an argument share is then found, from about 2 / (W + 1) of the shingles. Hashes are Python's
own, salted per process, so content cannot be crafted to collide with another result's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# Words per shingle and shingles per window: a shared run of 12 words or more is always found.
SHINGLE = 8
WINDOW = 5
LONGEST_RUN = SHINGLE + WINDOW - 1
# Tokens longer than this are not fragments (an encoded blob is not an address).
LONGEST_TOKEN = 2048
LONGEST_COMMAND = 512
_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "ws", "wss"})
_EDGE = "()[]{}<>\"'`.,;:!?*|"
_COMMANDS = frozenset(
    {
        "curl", "wget", "nc", "ncat", "netcat", "scp", "rsync", "ssh", "sftp", "ftp", "telnet",
        "bash", "sh", "zsh", "python", "python3", "node", "perl", "ruby", "powershell", "pwsh",
        "iwr", "invoke-webrequest", "rm", "chmod", "chown", "sudo", "git", "docker", "kubectl",
        "aws", "gcloud", "az", "mail", "sendmail", "base64", "eval", "exec", "cat", "echo",
    }
)  # fmt: skip
_WORD = re.compile(r"\w+")
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")


@dataclass(frozen=True, slots=True)
class Fragment:
    kind: str  # url, email, account, path, command
    # The normalised text looked up in the index, and what a record shows.
    text: str


def fragments(text: str) -> Iterator[Fragment]:
    """Every URL, address, account number, path and command in the text, normalised."""
    for token in text.split():
        if len(token) < 6 or len(token) > LONGEST_TOKEN:
            continue
        if "://" in token:
            yield from _urls(token)
        elif "@" in token:
            email = _email(token)
            if email:
                yield Fragment("email", email)
        elif "/" in token or "\\" in token:
            path = _path(token.strip(_EDGE))
            if path:
                yield Fragment("path", path)
        else:
            account = _account(token.strip(_EDGE))
            if account:
                yield Fragment("account", account)
    yield from commands(text)


def commands(text: str) -> Iterator[Fragment]:
    """Shell command lines: a line or a backquoted span that starts with a known program."""
    spans = text.split("`")[1::2] if "`" in text else []
    for candidate in (*text.splitlines(), *spans):
        words = candidate.strip().lstrip("$#> ").split(maxsplit=64)
        if len(words) >= 2 and words[0].lower() in _COMMANDS:
            command = " ".join(words)
            if 8 <= len(command) <= LONGEST_COMMAND:
                yield Fragment("command", command)


def _urls(token: str) -> Iterator[Fragment]:
    at = token.find("://")
    start = at
    while start > 0 and token[start - 1].isalpha():
        start -= 1
    scheme = token[start:at].lower()
    if scheme not in _SCHEMES:
        return
    rest = token[at + 3 :].rstrip(_EDGE)
    host, slash, path = rest.partition("/")
    if not host:
        return
    url = f"{scheme}://{host.lower()}{slash}{path}"
    yield Fragment("url", url)
    base = url.split("#", 1)[0].split("?", 1)[0]
    # The URL without its query is what an exfiltration keeps when it appends the data; a bare host
    # is not distinctive enough to link two texts.
    if base != url and path.split("?", 1)[0].split("#", 1)[0]:
        yield Fragment("url", base)


def _email(token: str) -> str | None:
    token = token.strip(_EDGE)
    if token.lower().startswith("mailto:"):
        token = token[7:]
    local, at, domain = token.partition("@")
    local = local.rsplit("<", 1)[-1].strip(_EDGE)
    domain = domain.split("?", 1)[0].strip(_EDGE).lower()
    if not at or not local or "." not in domain or "@" in domain or domain.startswith("."):
        return None
    return f"{local}@{domain}"


def _path(token: str) -> str | None:
    if len(token) < 5:
        return None
    unix = token.startswith(("/", "~/", "./", "../")) and token.count("/") >= 2
    windows = len(token) > 3 and token[1:3] == ":\\" and token[0].isalpha()
    return token if unix or windows else None


def _account(token: str) -> str | None:
    digits = token.replace("-", "")
    if digits.isdigit() and 9 <= len(digits) <= 34:
        return digits
    upper = token.upper()
    if len(token) >= 15 and _IBAN.fullmatch(upper):
        return upper
    return None


def destinations(text: str) -> set[str]:
    """The host of every URL and the domain of every e-mail address in the text."""
    found: set[str] = set()
    for fragment in fragments(text):
        if fragment.kind == "url":
            authority = fragment.text.split("://", 1)[1].split("/", 1)[0]
            found.add(authority.rsplit("@", 1)[-1].split(":", 1)[0])
        elif fragment.kind == "email":
            found.add(fragment.text.rsplit("@", 1)[1])
    return found


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def shingles(tokens: list[str]) -> list[int]:
    """The hash of every run of SHINGLE words, in order."""
    if len(tokens) < SHINGLE:
        return []
    return list(map(hash, zip(*(tokens[j:] for j in range(SHINGLE)), strict=False)))


def winnowed(text: str) -> set[int]:
    """The fingerprints kept of a text: the smallest shingle hash in every window of WINDOW."""
    hashed = shingles(words(text))
    if len(hashed) <= WINDOW:
        return set(hashed)
    # The minimum of each window, computed by `min` over WINDOW shifted views in one C-level map.
    return set(map(min, *(hashed[j:] for j in range(WINDOW))))
