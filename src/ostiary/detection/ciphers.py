"""Text a reader can undo by hand: letters spaced out, reversed, ROT13, binary octets, Base32
and Morse code, read back so the rules can see what it says.

A model reads "I g n o r e all previous instructions", a line written backwards or in ROT13, or
a run of `01001001 01100111 ...`, as readily as plain text, and attackers use all of them
because a rule over the text as sent sees nothing. Unlike base64 and the escapes (`decoding`),
these forms have no mark of their own that a cheap scan can trust, so one RE2 screen looks for
what each form of an injection would contain: a run of single letters, the ROT13 or reversed
spelling of the words an override is made of, eight-bit groups, a long run of the Base32
alphabet, a long run of dots and dashes. Only the neighbourhood of what the screen marks is read
again, so ordinary output costs one pass of the screen.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterator
from typing import Any

import re2

from ostiary.detection.decoding import CharOffsets, Decoded, printable

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

# What a text must hold to be read again. A scanner adds it to its rule set's screens, so the
# mark costs no pass of its own, and calls `segments` only for a text it marked.
SCREEN = (
    "(?i)(?:"
    + "|".join(re2.escape(w) for w in (*_ROT13, *_REVERSED))
    + ")"
    + f"|{_BINARY}|{_MORSE}|(?-i:{_BASE32})|{_SPACED}"
)
_SCREEN = re2.compile(SCREEN)
# Each form's own pattern runs only inside what the screen marked, on its UTF-8 bytes (RE2 would
# encode a str again on every search).
_SPACED_RUN = re2.compile(_SPACED)
# A separator between two letters that stand alone: "I g n o r e" closes up to "Ignore". One
# substitution in C per marked line, not a Python step per run.
_CLOSE_UP = re.compile(rb"(?<=\b[A-Za-z])[ ._*-]{1,2}(?=[A-Za-z]\b)")
_BINARY_RUN = re2.compile(_BINARY)
_BASE32_RUN = re2.compile(_BASE32)
_MORSE_RUN = re2.compile(_MORSE)
_ROT13_WORD = re2.compile("(?i)" + "|".join(re2.escape(w) for w in _ROT13))
_REVERSED_WORD = re2.compile("(?i)" + "|".join(re2.escape(w) for w in _REVERSED))
_ROT13_TABLE = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    b"NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)
_MORSE_CODE = {
    ".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g",
    "....": "h", "..": "i", ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n",
    "---": "o", ".--.": "p", "--.-": "q", ".-.": "r", "...": "s", "-": "t", "..-": "u",
    "...-": "v", ".--": "w", "-..-": "x", "-.--": "y", "--..": "z", "-----": "0",
    ".----": "1", "..---": "2", "...--": "3", "....-": "4", ".....": "5", "-....": "6",
    "--...": "7", "---..": "8", "----.": "9", ".-.-.-": ".", "--..--": ",", "..--..": "?",
}  # fmt: skip
# What is read again around a mark, either side (in bytes of UTF-8). Windows that touch are one:
# all of them together are never longer than the text, and every run, line and mark in them is
# read, so no number of decoys before a payload can hide it, and the work stays linear.
WINDOW = 2048
MIN_TEXT = 12


def segments(text: str, data: bytes | None = None) -> list[Decoded]:
    """The ciphered segments of `text` (character offsets), each with what it reads as."""
    if data is None:
        data = text.encode("utf-8", "surrogatepass")
    found: dict[tuple[int, int, str], str] = {}
    for lo, hi in _windows(data):
        part = data[lo:hi]
        for start, end, encoding, undone in (
            *_spaced(part), *_binary(part), *_base32(part), *_morse(part), *_lines(part)
        ):  # fmt: skip
            if len(undone) >= MIN_TEXT and printable(undone):
                found.setdefault((start + lo, end + lo, encoding), undone)
    if not found:
        return []
    if len(data) == len(text):
        return [Decoded(a, b, e, t) for (a, b, e), t in sorted(found.items())]
    chars = CharOffsets(data)
    offsets = {at: chars(at) for at in sorted({at for a, b, _ in found for at in (a, b)})}
    return [Decoded(offsets[a], offsets[b], e, t) for (a, b, e), t in sorted(found.items())]


def _windows(data: bytes) -> list[tuple[int, int]]:
    """Byte spans around what the screen marks, merged where they touch; the search resumes
    after each window, so a text full of marks costs one pass, not one per mark."""
    out: list[tuple[int, int]] = []
    pos = 0
    while pos < len(data) and (mark := _SCREEN.search(data, pos)) is not None:
        lo = _char_start(data, max(mark.start() - WINDOW, 0))
        hi = _char_start(data, min(mark.end() + WINDOW, len(data)))
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
        pos = max(hi, mark.end() + 1)
    return out


def _char_start(data: bytes, at: int) -> int:
    """`at`, moved back to the first byte of the UTF-8 character it falls in."""
    while 0 < at < len(data) and data[at] & 0xC0 == 0x80:
        at -= 1
    return at


# A segment found in a window: byte offsets in it, the cipher, the text it reads as.
_Found = tuple[int, int, str, str]


def _marked_lines(pattern: Any, data: bytes) -> Iterator[tuple[int, int]]:
    """Each line holding a match, once; the search resumes after the line, so lines never
    overlap and a line full of matches is read once."""
    pos = 0
    while pos < len(data) and (match := pattern.search(data, pos)) is not None:
        start, end = _line(data, match.start())
        yield start, end
        pos = max(end, match.end())


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _spaced(data: bytes) -> Iterator[_Found]:
    """Each line holding a spaced-out run, with its runs closed up: the words around a run are
    part of the sentence it hides in."""
    for start, end in _marked_lines(_SPACED_RUN, data):
        yield start, end, "spaced", _text(_CLOSE_UP.sub(b"", data[start:end]))


def _binary(data: bytes) -> Iterator[_Found]:
    for match in _BINARY_RUN.finditer(data):
        octets = match.group().split()
        yield match.start(), match.end(), "binary", _text(bytes(int(o, 2) for o in octets))


def _base32(data: bytes) -> Iterator[_Found]:
    for match in _BASE32_RUN.finditer(data):
        body = match.group().rstrip(b"=")
        # Its first 40 bytes must be text before the rest is decoded: a long run of the alphabet
        # (a PEM body, a row of "A"s) costs a probe, not a decoding.
        if not printable(_decoded32(body[:64]) or "\x00"):
            continue
        raw = _decoded32(body)
        if raw is not None:
            yield match.start(), match.end(), "base32", raw


def _decoded32(body: bytes) -> str | None:
    try:
        return _text(base64.b32decode(body + b"=" * (-len(body) % 8)))
    except (binascii.Error, ValueError):
        return None


def _morse(data: bytes) -> Iterator[_Found]:
    for match in _MORSE_RUN.finditer(data):
        words = re.split(r"\s*/\s*|\s{3,}", match.group().decode("ascii").strip())
        decoded = " ".join("".join(_MORSE_CODE.get(c, "") for c in w.split()) for w in words)
        yield match.start(), match.end(), "morse", decoded


def _lines(data: bytes) -> Iterator[_Found]:
    """The lines that hold an override's words in ROT13 or backwards, undone."""
    for start, end in _marked_lines(_ROT13_WORD, data):
        yield start, end, "rot13", _text(data[start:end].translate(_ROT13_TABLE))
    for start, end in _marked_lines(_REVERSED_WORD, data):
        yield start, end, "reversed", _text(data[start:end])[::-1]


def _line(data: bytes, at: int, most: int = 2048) -> tuple[int, int]:
    """The line around `at`, at most `most` bytes either side (cut at a character's start)."""
    start = data.rfind(b"\n", max(at - most, 0), at) + 1 or _char_start(data, max(at - most, 0))
    end = data.find(b"\n", at, at + most)
    return start, (end if end >= 0 else _char_start(data, min(len(data), at + most)))
