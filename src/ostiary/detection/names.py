"""What a value's shape says about it: a name written in code (`SomeServiceName`,
`content-type`) or filler typed as a value (`aaaa…`, `abc123def456…`), as opposed to the random
characters of a credential. Pure string tests, shared by the rules that read a value beside a
key name (`secrets.py`, `passwords.py`)."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise


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
