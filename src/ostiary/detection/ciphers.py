"""Text a reader can undo by hand: letters spaced out, reversed, ROT13, binary octets, Base32
and Morse code, read back so the rules can see what it says.

A model reads "I g n o r e all previous instructions", a line written backwards or in ROT13, or
a run of `01001001 01100111 ...`, as readily as plain text, and attackers use all of them
because a rule over the text as sent sees nothing. Unlike base64 and the escapes (`decoding`),
these forms have no mark of their own that a cheap scan can trust, so one RE2 screen looks for
what each form of an injection would contain: a run of single letters, the ROT13 or reversed
spelling of the words an override is made of, eight-bit groups, a long run of the Base32
alphabet, a long run of dots and dashes. Only a text the screen marks is read again, and only
the marked line or run, so ordinary output costs one pass of the screen.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterator

import re2

from ostiary.detection.decoding import Decoded, printable

# The words an override or an extraction is built from, as ROT13 and reversed would spell them.
_WORDS = ("ignore", "instructions", "previous", "disregard", "system prompt", "password")
_ROT13 = tuple(codecs.encode(w, "rot13") for w in _WORDS)
_REVERSED = tuple(w[::-1] for w in _WORDS)
# Letters one by one, each followed by one or two separators (space, dot, dash, star,
# underscore): at least six, so initials ("J. R. R. Tolkien") stay out.
_SPACED = r"(?:\b[A-Za-z](?:[ ._*-]{1,2})){5,}[A-Za-z]\b"
_BINARY = r"(?:\b[01]{8}\b[ ]?){6,}"
# Base32 of at least 24 characters, uppercase as RFC 4648 writes it: ids and hashes are lowercase
# or hold 0, 1, 8 or 9.
_BASE32 = r"\b[A-Z2-7]{24,}={0,6}"
_MORSE = r"(?:[.-]{1,7}(?: / | {1,3}|/)){8,}[.-]{1,7}"

_SCREEN = re2.compile(
    "(?i)(?:"
    + "|".join(re2.escape(w) for w in (*_ROT13, *_REVERSED))
    + ")"
    + f"|{_BINARY}|{_MORSE}|(?-i:{_BASE32})|{_SPACED}"
)
# Each form's own pattern runs only when the screen has marked the text.
_SPACED_RUN = re2.compile(_SPACED)
_SEPARATORS = re.compile(r"[ ._*-]")
_BINARY_RUN = re2.compile(_BINARY)
_BASE32_RUN = re2.compile(_BASE32)
_MORSE_RUN = re2.compile(_MORSE)
_ROT13_WORD = re2.compile("(?i)" + "|".join(re2.escape(w) for w in _ROT13))
_REVERSED_WORD = re2.compile("(?i)" + "|".join(re2.escape(w) for w in _REVERSED))
_MORSE_CODE = {
    ".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g",
    "....": "h", "..": "i", ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n",
    "---": "o", ".--.": "p", "--.-": "q", ".-.": "r", "...": "s", "-": "t", "..-": "u",
    "...-": "v", ".--": "w", "-..-": "x", "-.--": "y", "--..": "z", "-----": "0",
    ".----": "1", "..---": "2", "...--": "3", "....-": "4", ".....": "5", "-....": "6",
    "--...": "7", "---..": "8", "----.": "9", ".-.-.-": ".", "--..--": ",", "..--..": "?",
}  # fmt: skip
# A text marked this often is read no further: each form is read at most this many times, and
# at most LONGEST characters of each run, so what is read again stays small whatever the text.
_MAX_PER_FORM = 16
_MAX_MARKS = 64
LONGEST = 4096
WINDOW = 2048
MIN_TEXT = 12


def segments(text: str, data: bytes | None = None) -> list[Decoded]:
    """The ciphered segments of `text` (character offsets), each with what it reads as.

    Only the neighbourhood of what the screen marks is read again (WINDOW characters either
    side, at most _MAX_MARKS marks), so a large text costs one pass of the screen whatever it
    holds."""
    if data is None:
        data = text.encode("utf-8", "surrogatepass")
    ascii_only = len(data) == len(text)
    windows: list[tuple[int, int]] = []
    byte = char = 0  # marks come in order: each converts only the bytes since the last
    for n, mark in enumerate(_SCREEN.finditer(data)):
        if n >= _MAX_MARKS:
            break
        if ascii_only:
            at = mark.start()
        else:
            char += len(data[byte : mark.start()].decode("utf-8", "surrogatepass"))
            byte = mark.start()
            at = char
        lo, hi = max(at - WINDOW, 0), min(at + WINDOW, len(text))
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], hi))
        else:
            windows.append((lo, hi))
    found: dict[tuple[int, int, str], Decoded] = {}
    for lo, hi in windows:
        part = text[lo:hi]
        for d in (*_spaced(part), *_binary(part), *_base32(part), *_morse(part), *_lines(part)):
            if len(d.text) >= MIN_TEXT and printable(d.text):
                shifted = Decoded(d.start + lo, d.end + lo, d.encoding, d.text)
                found.setdefault((shifted.start, shifted.end, d.encoding), shifted)
    return list(found.values())


def _spaced(text: str) -> Iterator[Decoded]:
    """Each line holding a spaced-out run, with its runs closed up: the words around a run are
    part of the sentence it hides in."""
    seen: set[int] = set()
    for n, match in enumerate(_SPACED_RUN.finditer(text)):
        if n >= _MAX_PER_FORM:
            return
        start, end = _line(text, match.start())
        if start in seen:
            continue
        seen.add(start)
        line = text[start:end][: LONGEST * 3]
        yield Decoded(start, end, "spaced", _SPACED_RUN.sub(lambda m: _SEPARATORS.sub("", m.group()), line))


def _binary(text: str) -> Iterator[Decoded]:
    for n, match in enumerate(_BINARY_RUN.finditer(text)):
        if n >= _MAX_PER_FORM:
            return
        octets = match.group()[: LONGEST * 9].split()[:LONGEST]
        decoded = bytes(int(o, 2) for o in octets).decode("utf-8", "replace")
        yield Decoded(match.start(), match.end(), "binary", decoded)


def _base32(text: str) -> Iterator[Decoded]:
    for n, match in enumerate(_BASE32_RUN.finditer(text)):
        if n >= _MAX_PER_FORM:
            return
        body = match.group()[: LONGEST // 8 * 8].rstrip("=")
        try:
            raw = base64.b32decode(body + "=" * (-len(body) % 8))
        except (binascii.Error, ValueError):
            continue
        decoded = raw.decode("utf-8", "replace")
        yield Decoded(match.start(), match.end(), "base32", decoded)


def _morse(text: str) -> Iterator[Decoded]:
    for n, match in enumerate(_MORSE_RUN.finditer(text)):
        if n >= _MAX_PER_FORM:
            return
        words = re.split(r"\s*/\s*|\s{3,}", match.group()[: LONGEST * 4].strip())
        decoded = " ".join("".join(_MORSE_CODE.get(c, "") for c in w.split()) for w in words)
        yield Decoded(match.start(), match.end(), "morse", decoded)


def _lines(text: str) -> Iterator[Decoded]:
    """The lines that hold an override's words in ROT13 or backwards, undone."""
    for pattern, encoding in ((_ROT13_WORD, "rot13"), (_REVERSED_WORD, "reversed")):
        seen: set[int] = set()
        for n, match in enumerate(pattern.finditer(text)):
            if n >= _MAX_PER_FORM:
                break
            start, end = _line(text, match.start())
            if start in seen:
                continue
            seen.add(start)
            line = text[start:end]
            undone = codecs.encode(line, "rot13") if encoding == "rot13" else line[::-1]
            yield Decoded(start, end, encoding, undone)


def _line(text: str, at: int, most: int = 2048) -> tuple[int, int]:
    """The line around `at`, at most `most` characters either side."""
    start = text.rfind("\n", max(at - most, 0), at) + 1 or max(at - most, 0)
    end = text.find("\n", at, at + most)
    return start, (end if end >= 0 else min(len(text), at + most))
