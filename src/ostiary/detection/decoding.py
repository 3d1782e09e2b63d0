"""Encoded segments (base64, hex, URL and HTML escapes) decoded so rules can read inside them.

An instruction or a key wrapped in base64 is still read by a model or a program downstream. Each
candidate segment is decoded only if it yields mostly printable text. Every candidate is tried,
however many come before it: a payload placed after hundreds of commit ids, UUIDs or harmless
encoded texts is still found, because padding must not be able to hide one. The work stays
linear without a count of tries: candidates do not overlap, a candidate that is not text is
rejected on its first `_PROBE` characters, and decoding never makes text longer, so all decoded
text together is at most as long as the input. Binary payloads such as base64 images fail the
printable check on their first bytes and cost almost nothing. Words that cannot hold a
candidate that decodes (ids, digests, paths) are passed over by one RE2 screen (`_screen`), so
the thousands of UUIDs and commit ids in large output never reach Python.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import re2

# No capturing groups: RE2 then finds each match with its DFA alone; submatch extraction would
# rerun a slower engine over every (possibly long) candidate. The kind is read from the match.
_CANDIDATES = re2.compile(
    r"[A-Za-z0-9+/_-]{20,}={0,2}"
    r"|(?:\\x[0-9A-Fa-f]{2}){8,}"
    r"|(?:[^\s%]{0,24}%[0-9A-Fa-f]{2}){2,}[^\s%]{0,24}"
    r"|(?:&#[xX]?[0-9A-Fa-f]{1,6};){4,}"
    r"|(?:\\u[0-9A-Fa-f]{4}){4,}"
)
_HEX = re.compile(r"[0-9A-Fa-f]+")


def _screen() -> str:
    """A mark that every word (run of non-space characters) holding a candidate that decodes
    contains, and that the ids filling real output (UUIDs, commit ids, digests) do not.

    No candidate contains a space (`\\s` ends every alternative), so the candidates of a word do
    not depend on the text around it, and a word without a mark can be skipped without a change
    to what is found. The screen only needs to hold for what decodes:

    - escapes: a candidate of those kinds holds what its pattern repeats, as few times as it
      allows (eight `\\xHH`, four `\\uHHHH` or `&#..;`, two `%HH` close together). A word with
      one is read whole, which also covers a run read from its middle after such a candidate;
    - otherwise every candidate is a whole run of base64 characters, preceded by a character
      that is not one (or the start of the text), so the screen reads the run from its start:
    - hex runs (even length) decode to strict UTF-8 with at most one character in twenty that
      is not printable: their first eight characters include at most one control character and
      are well-formed UTF-8 (lead bytes followed by continuation bytes);
    - base64 runs decode to strict UTF-8: a character worth 62 or 63 (`+ - / _`) at the start
      of one of the first four groups makes a byte 0xF8-0xFF, never UTF-8 (a UUID has `-` at
      offset 8). A hex-only run is read as base64 when its length is odd or `=` follows it.

    Every part is a necessary condition of `_decode` and `printable` on the first `_PROBE`
    characters; tests/detection/test_decoding.py checks the screen against every candidate.
    """
    base64_chars = "A-Za-z0-9+/_-"
    hexd = "[0-9A-Fa-f]"
    cont = f"(?:[89abAB]{hexd})"
    good = f"(?:0[9aAdD]|[2-7]{hexd}|[cdCD]{hexd}{cont}|[eE]{hexd}{cont}{{2}}|[fF][0-7]{cont}{{3}})"
    bad = "(?:[01][0-9a-fA-F]|7[fF])"
    hex_text = "|".join([f"{good}{{8}}"] + [f"{good}{{{i}}}{bad}{good}{{{7 - i}}}" for i in range(8)])
    # Base64 that is not hex-only: the first character that is not a hex digit at offset j.
    not_hex, letter_not_hex = "[g-zG-Z+/_-]", "[g-zG-Z]"
    alnum, any_b64 = "[A-Za-z0-9]", f"[{base64_chars}]"

    def offset_class(i: int) -> str:
        return alnum if i % 4 == 0 else any_b64

    base64_text = [
        f"{hexd}{{{j}}}"
        + (letter_not_hex if j % 4 == 0 else not_hex)
        + "".join(offset_class(i) for i in range(j + 1, 13))
        + f"{any_b64}{{7}}"
        for j in range(13)
    ]
    base64_text.append(f"{hexd}{{13}}{hexd}*{not_hex}")
    base64_text.append(f"{hexd}{{21}}(?:{hexd}{hexd})*(?:[^{base64_chars}]|$)|(?:{hexd}{hexd}){{10,}}=")
    runs = "|".join([hex_text, *base64_text])
    escapes = (
        rf"(?:\\x{hexd}{{2}}){{8}}|(?:\\u{hexd}{{4}}){{4}}|(?:&#[xX]?{hexd}{{1,6}};){{4}}"
        rf"|%{hexd}{{2}}[^\s%]{{0,24}}%{hexd}{{2}}"
    )
    return rf"{escapes}|(?:^|[^{base64_chars}])(?:{runs})"


# Only the mark itself: the word around it is found in Python. With `[^\s]*` on either side,
# RE2's automaton follows every partial mark of a long word at once and is a hundred times
# slower on random hex or base64 between spaces.
_SCREEN = re2.compile(_screen())
_SPACE_BYTES = b" \t\n\r\f"  # what RE2's `\s` matches
_NEXT_SPACE = re.compile(rb"[ \t\n\r\f]")
# Marks closer than this are read in one stretch: text dense with encoded words costs one
# candidate scan, not one per word (a stretch may then hold a few unmarked words).
_GAP = 64
_PROBE = 64
# Kinds whose decoded text `_utf8` already found printable in its first `_PROBE` characters.
_PROBED = frozenset({"b64", "hex"})


@dataclass(frozen=True, slots=True)
class Decoded:
    start: int
    end: int
    encoding: str
    text: str


@dataclass(frozen=True, slots=True)
class Limits:
    # Decoded texts shorter than this say too little to be worth reading.
    min_text: int = 12


def segments(text: str, limits: Limits | None = None, data: bytes | None = None) -> list[Decoded]:
    """Every decodable segment of `text`, spans in characters.

    RE2 gets the UTF-8 bytes once (`data`, when the caller already has them); candidates are read
    from the bytes and only the spans of the segments that decode are converted to character
    offsets, in one forward pass."""
    if data is None:
        data = text.encode("utf-8", "surrogatepass")
    return segments_of(data, len(text), limits)


def segments_of(data: bytes, length: int, limits: Limits | None = None) -> list[Decoded]:
    """`segments` of the text whose UTF-8 is `data`, `length` characters long, without it."""
    return _decoded(length, data, _candidates(data), limits or Limits())


def _decoded(length: int, data: bytes, spans: Iterable[tuple[int, int]], limits: Limits) -> list[Decoded]:
    """The candidates at `spans` (byte offsets, increasing) that decode to text."""
    to_chars = CharOffsets(data) if len(data) != length else None
    found: list[Decoded] = []
    for byte_start, byte_end in spans:
        segment = data[byte_start:byte_end].decode("utf-8", "surrogatepass")
        kind = _kind(segment)
        decoded = _decode(kind, segment)
        if decoded is None or len(decoded) < limits.min_text:
            continue
        # Base64 and hex were checked on their first `_PROBE` characters: all of a short text.
        if (len(decoded) > _PROBE or kind not in _PROBED) and not printable(decoded):
            continue
        start, end = (to_chars(byte_start), to_chars(byte_end)) if to_chars else (byte_start, byte_end)
        found.append(Decoded(start, end, kind, decoded))
    return found


def _candidates(data: bytes) -> Iterator[tuple[int, int]]:
    """The candidates of the stretches that hold the marked words, as a scan of all of `data`
    finds them: a stretch starts at a word's start (or a space) and ends at a word's end,
    where a scan of the whole text is between two candidates."""
    for start, end in _stretches(data):
        for match in _CANDIDATES.finditer(data, start, end):
            yield match.span()


def _stretches(data: bytes) -> Iterator[tuple[int, int]]:
    pos = 0  # the end of the last stretch: a space, or the start of the text
    start = end = -1  # the pending stretch (start -1: none); `end` is its last word's end
    marks = _SCREEN.finditer(data)
    while (mark := next(marks, None)) is not None:
        at, after = mark.span()
        if start >= 0 and at - end > _GAP:
            yield start, end
            pos, start = end, -1
        if start < 0:
            start = at if data[at] in _SPACE_BYTES else _word_start(data, pos, at)
        end = _word_end(data, after)
        if end - after > _GAP:
            # The rest of a long word is read anyway: look for marks after it.
            marks = _SCREEN.finditer(data, end)
        elif end < after:
            # The mark ended on the space after its run (odd-length hex is base64); that space
            # may begin the next word's mark.
            marks = _SCREEN.finditer(data, end)
    if start >= 0:
        yield start, end


def _word_start(data: bytes, pos: int, at: int) -> int:
    return max(pos, *(data.rfind(space, pos, at) + 1 for space in _SPACE_BYTES))


def _word_end(data: bytes, after: int) -> int:
    """The end of the word that holds the byte before `after` (a space there ends it)."""
    space = _NEXT_SPACE.search(data, after - 1)
    return len(data) if space is None else space.start()


class CharOffsets:
    """Byte offsets of UTF-8 text to character offsets, asked in increasing order."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.byte = 0
        self.char = 0

    def __call__(self, byte: int) -> int:
        self.char += len(self.data[self.byte : byte].decode("utf-8", "surrogatepass"))
        self.byte = byte
        return self.char


def _kind(segment: str) -> str:
    # Only the percent alternative holds a "%"; it may start like another kind (\x41%41%42).
    if "%" in segment:
        return "url"
    if segment.startswith("&#"):
        return "entity"
    if segment.startswith("\\u"):
        return "uesc"
    if segment.startswith("\\x"):
        return "hex"
    # Hex digits are base64 letters too; an even run of them is read as hex.
    if len(segment) % 2 == 0 and _HEX.fullmatch(segment):
        return "hex"
    return "b64"


# ASCII characters that `printable` counts as good, and the ASCII letters.
_ASCII_GOOD = bytes(range(0x20, 0x7F)) + b"\n\r\t"
_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def printable(text: str) -> bool:
    """Mostly letters, digits, punctuation and spaces, with at least a few letters."""
    if not text:
        return False
    if text.isascii():
        # The same counts in C: a long decoded text would otherwise cost a Python step a character.
        raw = text.encode("ascii")
        good_count = len(text) - len(raw.translate(None, _ASCII_GOOD))
        letter_count = len(text) - len(raw.translate(None, _ASCII_LETTERS))
        return good_count >= 0.95 * len(text) and letter_count >= 0.4 * len(text)
    good = sum(1 for c in text if c.isprintable() or c in "\n\r\t")
    letters = sum(1 for c in text if c.isalpha())
    return good >= 0.95 * len(text) and letters >= 0.4 * len(text)


def _decode(kind: str, segment: str) -> str | None:
    if kind == "b64":
        return _base64(segment)
    if kind == "hex":
        raw = segment.replace("\\x", "")
        if len(raw) % 2:
            return None
        try:
            probe = _utf8(binascii.unhexlify(raw[:_PROBE]))
            if probe is None or len(raw) <= _PROBE:
                return probe
            return _utf8(binascii.unhexlify(raw))
        except binascii.Error:  # not hex after all: nothing to read, never a failed inspection
            return None
    if kind == "url":
        try:
            decoded = urllib.parse.unquote(segment, errors="strict")
        except UnicodeDecodeError:
            # Escaped bytes that are not UTF-8 (Latin-1 query strings) are not text to read.
            return None
        return decoded if decoded != segment else None
    if kind == "entity":
        import html  # noqa: PLC0415  (its entity table, about 1 MB, with the first entity to read)

        return html.unescape(segment)
    if kind == "uesc":
        try:
            return segment.encode("ascii").decode("unicode_escape")
        except UnicodeError:
            return None
    return None


def _base64(segment: str) -> str | None:
    body = segment.rstrip("=")
    # A plain identifier or word run has no digits and no case mix: not worth decoding.
    if body.isalpha() and (body.islower() or body.isupper()):
        return None
    alphabet = "-_" if ("-" in body or "_" in body) else "+/"
    probe = body[: _PROBE - _PROBE % 4]
    text = _utf8(_b64(probe, alphabet))
    if text is None or len(probe) == len(body):
        return text
    return _utf8(_b64(body, alphabet))


def _b64(body: str, alphabet: str) -> bytes:
    padded = body + "=" * (-len(body) % 4)
    try:
        if alphabet == "-_":
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=False)
    except (binascii.Error, ValueError):
        return b""


def _utf8(data: bytes) -> str | None:
    if not data:
        return None
    text = _strict_utf8(data)
    if text is None:
        # The probe may cut a multi-byte character; accept a cut at the very end only.
        text = _strict_utf8(data[:-3]) if len(data) > 3 else ""
        if text is None:
            return None
    return text if printable(text[:_PROBE]) else None


_REPLACEMENT = "\ufffd"
_REPLACEMENT_UTF8 = _REPLACEMENT.encode()


def _strict_utf8(data: bytes) -> str | None:
    """`data` as strict UTF-8, or None. Most candidates are random bytes: decoding with
    replacement and looking for U+FFFD avoids building an exception for each of them."""
    text = data.decode("utf-8", "replace")
    if _REPLACEMENT not in text:
        return text
    if _REPLACEMENT_UTF8 not in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
