"""Unicode folding for detection: what a model reads, in the letters a rule can match.

Attackers hide text from people and rules while models still read it: tag characters and
variation selectors that spell ASCII invisibly, zero-width and bidi controls splitting or
reordering words, lookalike Cyrillic and Greek letters, fullwidth and mathematical letters. Folding
removes the invisible characters, applies NFKD and drops combining marks, maps lookalikes to
Latin, and keeps a piecewise map back to the original offsets. ASCII text, the common case,
is returned as is without a per-character loop.
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass, field

import re2

# Lookalikes that NFKD leaves alone; the Cyrillic and Greek letters used in homoglyph attacks.
_HOMOGLYPHS = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ı": "i",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "У": "Y",
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ω": "w",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}  # fmt: skip

TAG = "tag"
VARIATION = "variation_selector"
ZERO_WIDTH = "zero_width"
BIDI = "bidi"

_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad\u034f")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def invisible_class(char: str) -> str | None:
    cp = ord(char)
    if 0xE0000 <= cp <= 0xE007F:
        return TAG
    if 0xE0100 <= cp <= 0xE01EF:
        return VARIATION
    if char in _ZERO_WIDTH:
        return ZERO_WIDTH
    if char in _BIDI:
        return BIDI
    return None


@dataclass(slots=True)
class Hidden:
    """A run of invisible characters that spells text (tag characters, variation selectors)."""

    start: int
    end: int
    text: str


@dataclass(slots=True)
class Folded:
    original: str
    text: str
    # Piecewise map: (folded start, original start, length, one_to_one). Empty: identical text.
    _pieces: list[tuple[int, int, int, bool]] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list)
    # Invisible characters by class: original offsets of the first few, and a count.
    invisible: dict[str, list[int]] = field(default_factory=dict)
    hidden: list[Hidden] = field(default_factory=list)
    # Original offsets of lookalike letters written inside Latin words.
    mixed_script: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self._pieces)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded span back to the original string's offsets."""
        if not self._pieces:
            return start, end
        return self._point(start, False), self._point(end, True)

    def _point(self, pos: int, is_end: bool) -> int:
        idx = bisect.bisect_right(self._starts, pos - 1 if is_end and pos > 0 else pos) - 1
        if idx < 0:
            return 0
        fstart, ostart, _length, one_to_one = self._pieces[idx]
        if is_end:
            offset = pos - fstart
            return ostart + offset if one_to_one else ostart + 1
        return ostart + (pos - fstart) if one_to_one else ostart


_NON_ASCII = re2.compile(r"[^\x00-\x7f]+")
_MAX_MARKS = 16


def fold(text: str) -> Folded:
    if text.isascii():
        return Folded(text, text)
    folded = Folded(text, text)
    out: list[str] = []
    size = 0
    last = 0
    cache: dict[str, str] = {}
    hidden_chars: list[str] = []
    hidden_start = -1

    def close_hidden(at: int) -> None:
        nonlocal hidden_start
        if hidden_chars:
            folded.hidden.append(Hidden(hidden_start, at, "".join(hidden_chars)))
            hidden_chars.clear()
        hidden_start = -1

    for match in _NON_ASCII.finditer(text):
        start, end = match.span()
        if start > last:
            close_hidden(last)
            folded._pieces.append((size, last, start - last, True))
            out.append(text[last:start])
            size += start - last
        for i in range(start, end):
            char = text[i]
            cls = invisible_class(char)
            if cls is not None:
                marks = folded.invisible.setdefault(cls, [])
                if len(marks) < _MAX_MARKS:
                    marks.append(i)
                decoded = _smuggled(char, cls)
                if decoded is not None:
                    if hidden_start < 0:
                        hidden_start = i
                    hidden_chars.append(decoded)
                else:
                    close_hidden(i)
                continue
            close_hidden(i)
            mapped = cache.get(char)
            if mapped is None:
                mapped = _fold_char(char)
                cache[char] = mapped
            if (
                char in _HOMOGLYPHS
                and _beside_ascii_letter(text, i)
                and len(folded.mixed_script) < _MAX_MARKS
            ):
                folded.mixed_script.append(i)
            if mapped:
                folded._pieces.append((size, i, len(mapped), mapped == char))
                out.append(mapped)
                size += len(mapped)
        last = end
    close_hidden(last)
    if last < len(text):
        folded._pieces.append((size, last, len(text) - last, True))
        out.append(text[last:])
    folded.text = "".join(out)
    folded._starts = [p[0] for p in folded._pieces]
    return folded


def _smuggled(char: str, cls: str) -> str | None:
    cp = ord(char)
    if cls == TAG and 0xE0020 <= cp <= 0xE007E:
        return chr(cp - 0xE0000)
    if cls == VARIATION:
        # Variation selectors 17-256 carry one byte each in "emoji smuggling".
        value = cp - 0xE0100 + 16
        return chr(value) if 0x20 <= value < 0x7F else None
    return None


def _fold_char(char: str) -> str:
    lookalike = _HOMOGLYPHS.get(char)
    if lookalike is not None:
        return lookalike
    decomposed = unicodedata.normalize("NFKD", char)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return kept if kept else ("" if unicodedata.combining(char) else char)


def _beside_ascii_letter(text: str, i: int) -> bool:
    before = text[i - 1] if i > 0 else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    return (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha())
