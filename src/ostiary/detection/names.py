"""What a value's shape says about it: a name written in code (`SomeServiceName`,
`content-type`) or filler typed as a value (`aaaa…`, `abc123def456…`), as opposed to the random
characters of a credential. Pure string tests, shared by the rules that read a value beside a
key name (`secrets.py`, `passwords.py`)."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import re2


def filler(value: str) -> bool:
    """One character making up half the value or more: `aaaaaaaaaaaaaaaaaaaaaaaaend`."""
    return len(value) >= 8 and max(Counter(value).values()) * 2 >= len(value)


def sequential(value: str) -> bool:
    """Filler typed as a value: a run repeated (`abcdefabcdef…`), or characters counted up or
    down in turn (`abc123def456…`, `1a2b3c4d…`, `zyxwvu…`)."""
    size = len(value)
    for period in range(1, size // 3 + 1):
        if value[period:] == value[:-period]:
            return True
    codes = [ord(c) for c in value.lower()]
    steps = sum(abs(b - a) == 1 for a, b in pairwise(codes))
    skips = sum(abs(b - a) == 1 for a, b in zip(codes, codes[2:], strict=False))
    return max(steps, skips) * 5 >= size * 2


def word(part: str) -> bool:
    """A part of an identifier: a word of at least two letters with a vowel and no long run
    of consonants (`Service`, `json`), not a run a generator typed (`Jrtpvyd`)."""
    if len(part) < 2:
        return False
    run = longest = 0
    for char in part.lower():
        run = 0 if char in "aeiouy" else run + 1
        longest = max(longest, run)
    return longest < len(part) and longest <= 4


def identifier(value: str) -> bool:
    """A name, not a credential: every part of it, split at `_`, `-`, `.`, `/` and at case
    changes, is a word or a short number (`SomeServiceName`, `content-type`, `v2_handler`)."""
    parts: list[str] = []
    current = ""
    for char in value:
        if not char.isalnum():
            parts.append(current)
            current = ""
        elif current and (
            (char.isupper() and not current[-1].isupper()) or (char.isdigit() != current[-1].isdigit())
        ):
            parts.append(current)
            current = char
        else:
            current += char
    parts.append(current)
    return any(map(word, parts)) and all(
        not part or part.isdigit() or word(part) or (part.isupper() and len(part) <= 5) for part in parts
    )


def split(name: str) -> list[str]:
    """A name's parts, lowercased: split at separators and where lower case turns upper."""
    parts: list[str] = []
    current = ""
    for char in name:
        if not char.isalnum():
            parts.append(current)
            current = ""
        elif current and char.isupper() and current[-1].islower():
            parts.append(current)
            current = char
        else:
            current += char
    parts.append(current)
    return [part.lower() for part in parts if part]


def _runs(value: str) -> list[str]:
    """Runs of letters or digits, split at other characters, where lower case turns upper and
    where letters turn digits: `compiler/c2/Test7002666.java` gives `compiler`, `c`, `2`,
    `Test`, `7002666`, `java`."""
    runs: list[str] = []
    current = ""
    for char in value:
        if not char.isalnum():
            if current:
                runs.append(current)
            current = ""
        elif current and (
            (char.isupper() and not current[-1].isupper()) or (char.isdigit() != current[-1].isdigit())
        ):
            runs.append(current)
            current = char
        elif char.islower() and len(current) > 1 and current.isalpha() and current.isupper():
            runs.append(current[:-1])  # an acronym before a word: `HTTPServer`, `OCSPNoCheck`
            current = current[-1] + char
        else:
            current += char
    if current:
        runs.append(current)
    return runs


def choppy(value: str) -> bool:
    """Runs of letters or digits (`_runs`) under three characters long on average, as random
    characters give (`ZXC2JK3HV4TY5UIO6PLK`) and names do not (`DefaultExecutionContext2`)."""
    return len(_runs(value)) * 3 > len(value)


def written(value: str) -> bool:
    """Names joined into a longer one, as paths, file names, references and identifiers with
    abbreviations are written (`compiler/c2/Test7002666.java`, `~cryptography.x509.OCSPNoCheck`,
    `gnutls_x509_crt_verify_data2`, `-I/usr/include/tcl8.6`), not random characters: few runs
    for the length (a run of letters or digits at least three characters long on average), each
    a number, a word or short, and words holding half the letters or more. Random characters
    change case or turn digits every character or two (`Zp4Kq9wLm2…`, `ba58803618…`). A value in
    one case is written only with a separator (`salsa20-256-set-key.c`): without one, a run of
    lower case and digits is as often a key (`io3l0urk6hubmo2gbbzr…`)."""
    runs = _runs(value)
    if len(runs) < 2 or choppy(value):
        return False
    if value.isalnum() and (value.islower() or value.isupper() or not any(c.isalpha() for c in value)):
        return False
    letters = worded = 0
    for run in runs:
        if run.isdigit():
            continue
        if len(run) > 4 and not word(run):
            return False
        letters += len(run)
        if len(run) >= 3 and word(run):
            worded += len(run)
    return worded * 2 >= letters


def path(value: str) -> bool:
    """A path to a file (`com/sun/net/httpserver/bugs/B6339483.java`, `libxslt/xsltInternals.h`):
    two parts or more between slashes, the last a file's name with its extension. A key's
    base64 holds slashes but no dot."""
    parts = value.strip("/").split("/")
    if len(parts) < 2 or "+" in value or "=" in value:
        return False
    return _FILE_NAME.match(parts[-1]) is not None


_FILE_NAME = re2.compile(r"^[A-Za-z0-9_.-]*[A-Za-z0-9_-]\.[A-Za-z][A-Za-z0-9]{0,4}$")
