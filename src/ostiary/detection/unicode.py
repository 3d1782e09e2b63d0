"""Unicode folding for detection: what a model reads, in the letters a rule can match.

Attackers hide text from people and rules while models still read it: tag characters and
variation selectors that spell ASCII invisibly, zero-width and bidi controls splitting or
reordering words, lookalike Cyrillic and Greek letters, fullwidth and mathematical letters. Folding
removes the invisible characters, applies NFKD and drops combining marks, maps lookalikes to
Latin, and keeps a piecewise map back to the original offsets. ASCII text, the common case,
is returned as is without a per-character loop; other text without invisible characters or
lookalikes inside Latin words, whose changed characters each fold to one character, is folded
by replacing each distinct character in C (offsets unchanged, no map).
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
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
    # The text as sent; None while it exists only as `_lines` (joined when something reads it).
    _original: str | None
    # The folded text. None when folding made only its UTF-8 (`utf8`), until something reads it:
    # rule sets and the decoder read the bytes, and most long texts match no rule, so a copy of
    # a megabyte (four when the text holds an emoji) is never made.
    _text: str | None
    # Piecewise map: (folded start, original start, length, one_to_one). Empty: same offsets.
    _pieces: list[tuple[int, int, int, bool]] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list)
    # Invisible characters by class: original offsets of the first few.
    invisible: dict[str, list[int]] = field(default_factory=dict)
    hidden: list[Hidden] = field(default_factory=list)
    # Original offsets of lookalike letters written beside Latin letters.
    mixed_script: list[int] = field(default_factory=list)
    # The folded text's UTF-8 when folding already made it, so rule sets and the decoder do not
    # encode it again; None: not made.
    utf8: bytes | None = None
    # The fields of a message, when the text is their lines (`fold_lines`).
    _lines: Sequence[str] = ()
    # Folding left the text as it was (then `_text`, when made, is the original itself).
    _same: bool = False
    # Folded by replacing characters without looking for lookalikes beside Latin letters: the
    # caller screens `utf8` with `LOOKALIKE_SCREEN` and calls `check_lookalikes` on a match.
    unchecked: bool = False

    def __post_init__(self) -> None:
        if self._original is not None:
            self._same = self._text is self._original

    @property
    def original(self) -> str:
        if self._original is None:
            self._original = "\n".join(self._lines)
        return self._original

    @property
    def text(self) -> str:
        if self._text is None:
            if self._same:
                self._text = self.original
            else:
                assert self.utf8 is not None
                self._text = self.utf8.decode("utf-8")
        return self._text

    @text.setter
    def text(self, value: str) -> None:
        self._text = value
        self._same = value is self.original

    @property
    def changed(self) -> bool:
        return not self._same

    @property
    def length(self) -> int:
        """Characters in the folded text, without making it: a text folded only as UTF-8 was
        folded one character for one."""
        if self._text is not None:
            return len(self._text)
        if self._original is not None:
            return len(self._original)
        return sum(map(len, self._lines)) + len(self._lines) - 1

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
            return ostart + (pos - fstart) if one_to_one else ostart + 1
        return ostart + (pos - fstart) if one_to_one else ostart


_MAX_MARKS = 16
_CLASS_PATTERNS = {
    TAG: re.compile(r"[\U000E0000-\U000E007F]"),
    VARIATION: re.compile(r"[\U000E0100-\U000E01EF]"),
    ZERO_WIDTH: re.compile("[" + "".join(f"\\U{ord(c):08X}" for c in sorted(_ZERO_WIDTH)) + "]"),
    BIDI: re.compile("[" + "".join(f"\\U{ord(c):08X}" for c in sorted(_BIDI)) + "]"),
}
_LOOKALIKES = "".join(f"\\U{ord(c):08X}" for c in sorted(_HOMOGLYPHS))
_MIXED = re.compile(f"[A-Za-z][{_LOOKALIKES}]|[{_LOOKALIKES}][A-Za-z]")


def _char_class(chars: Iterable[str]) -> str:
    return "".join(f"\\U{ord(c):08X}" for c in sorted(chars))


# Characters whose fold differs from themselves: Latin with diacritics, combining marks,
# super/subscripts, letterlike and enclosed symbols, ligatures, fullwidth forms, mathematical
# alphanumerics, and every invisible class. Anything else (Cyrillic, CJK, ...) is left alone
# unless it is a lookalike written inside a Latin word.
_FOLDABLE_RANGES = (
    (0xC0, 0x24F), (0x300, 0x36F), (0x2070, 0x209F), (0x2100, 0x214F), (0x2460, 0x24FF),
    (0xFB00, 0xFB06), (0xFF01, 0xFF5E), (0x1D400, 0x1D7FF), (0x1F100, 0x1F1FF),
    (0xE0000, 0xE007F), (0xE0100, 0xE01EF),
)  # fmt: skip


def _re2_class(chars: Iterable[str]) -> str:
    ranges = "".join(f"\\x{{{lo:X}}}-\\x{{{hi:X}}}" for lo, hi in _FOLDABLE_RANGES)
    return ranges + "".join(f"\\x{{{ord(c):X}}}" for c in sorted(chars))


_FOLDABLE = re.compile("[" + "".join(f"\\U{lo:08X}-\\U{hi:08X}" for lo, hi in _FOLDABLE_RANGES) + "]")
# RE2 scans long non-ASCII text several times faster than re; it finds the runs to fold.
_RUNS = re2.compile(f"[{_re2_class(_ZERO_WIDTH | _BIDI)}]+")
_RUNS_WITH_LOOKALIKES = re2.compile(f"[{_re2_class(_ZERO_WIDTH | _BIDI | frozenset(_HOMOGLYPHS))}]+")
_ALL_INVISIBLE = re.compile(
    r"[\U000E0000-\U000E007F\U000E0100-\U000E01EF" + _char_class(_ZERO_WIDTH | _BIDI) + "]+"
)
_ANY_INVISIBLE_RE2 = re2.compile(
    r"[\x{E0000}-\x{E007F}\x{E0100}-\x{E01EF}"
    + "".join(f"\\x{{{ord(c):X}}}" for c in sorted(_ZERO_WIDTH | _BIDI))
    + "]"
)
_MIXED_RE2 = re2.compile(
    "[A-Za-z][{0}]|[{0}][A-Za-z]".format("".join(f"\\x{{{ord(c):X}}}" for c in sorted(_HOMOGLYPHS)))
)
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f\u3099\u309a]+")
_SMUGGLING = re.compile(r"[\U000E0020-\U000E007E\U000E0110-\U000E016E]")


def fold(text: str, screen_later: bool = False) -> Folded:
    """Fold with C-speed scans; Python touches only the runs of characters that change.

    With `screen_later`, text folded by replacing characters is not searched for lookalikes
    beside Latin letters (a pass over every byte): the caller's rule set screens the folded
    UTF-8 for them in the pass it makes anyway (`LOOKALIKE_SCREEN`, `check_lookalikes`)."""
    if text.isascii():
        return Folded(text, text)
    try:
        data = _encoded(text)
        strict = True
    except UnicodeEncodeError:
        # Lone surrogates: folded all the same; the caller's strict encoding fails as RE2 would.
        data = text.encode("utf-8", "surrogatepass")
        strict = False
    changes = _replacements([text], data, screen_later)
    if changes is None:
        return fold_runs(text)
    if not changes:
        return Folded(text, text, utf8=data if strict else None, unchecked=screen_later)
    # A megabyte less alive while the folded UTF-8 is made: fewer fresh pages to fault in.
    del data
    if strict:
        return Folded(text, None, utf8=_replaced([text], changes), unchecked=screen_later)
    return Folded(text, "".join(_slices(text, changes)), unchecked=screen_later)


def _encoded(text: str) -> bytes:
    """UTF-8 of `text` a slice at a time: encoding a text wider than Latin-1 at once reserves
    four bytes a character for the result, and each megabyte used afresh is a megabyte of pages
    the kernel must fault in and clear."""
    if len(text) <= _SLICE:
        return text.encode("utf-8")
    return b"".join(text[at : at + _SLICE].encode("utf-8") for at in range(0, len(text), _SLICE))


def fold_lines(lines: Sequence[str], screen_later: bool = False) -> Folded:
    """`fold` of the lines joined by line breaks (the fields of one message), without joining them
    unless something reads the text: when one field holds an emoji, the joined text takes four
    bytes a character, a fresh copy of four megabytes for a megabyte of output, where each field
    is encoded to UTF-8 from its own, mostly narrower, form. The same folding decisions are made
    on the same counts; characters fold one for one there, and no run crosses a line break."""
    if len(lines) <= 1:
        return fold(lines[0] if lines else "", screen_later)
    try:
        encoded = [line.encode("utf-8") for line in lines]
    except UnicodeEncodeError:
        return fold("\n".join(lines), screen_later)
    data = b"\n".join(encoded)
    del encoded
    if data.isascii():
        return Folded(None, None, utf8=data, _lines=lines, _same=True)
    changes = _replacements(lines, data, screen_later)
    if changes is None:
        return fold_runs("\n".join(lines))
    if not changes:
        return Folded(None, None, utf8=data, _lines=lines, _same=True, unchecked=screen_later)
    del data
    return Folded(None, None, utf8=_replaced(lines, changes), _lines=lines, unchecked=screen_later)


def check_lookalikes(folded: Folded) -> Folded:
    """The fold of a text folded with `screen_later` whose folded UTF-8 matched
    `LOOKALIKE_SCREEN`: as it is when the original has no lookalike beside a Latin letter (the
    match was a letter folded from an accented one), else the general path's."""
    if not folded.unchecked:
        return folded
    folded.unchecked = False
    if _MIXED_RE2.search(folded.original) is None:
        return folded
    return fold_runs(folded.original)


def fold_runs(text: str) -> Folded:
    """The general path: marks invisible characters and lookalikes, folds each run of
    characters that change, and keeps the offset map."""
    folded = Folded(text, text)
    _mark(text, folded)
    runs = _RUNS_WITH_LOOKALIKES if folded.mixed_script else _RUNS
    if folded.invisible or folded.mixed_script:
        return _fold_spans(text, (m.span() for m in runs.finditer(text)), folded)
    spans: list[tuple[int, int]] = []
    limit = len(text) // 64 + 16
    for match in runs.finditer(text):
        spans.append(match.span())
        if len(spans) > limit:
            break
    else:
        return _fold_spans(text, iter(spans), folded) if spans else folded
    # Text dense with accents: NFKD and dropping combining marks in two C passes keeps one
    # character per character, so offsets are unchanged and no map is needed.
    candidate = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    if len(candidate) == len(text):
        folded.text = candidate
        return folded
    return _fold_spans(text, (m.span() for m in runs.finditer(text)), folded)


_ASCII = bytes(range(128))
# Beyond this many distinct characters to replace, one pass per character costs more than the
# general path's single pass.
_MAX_REPLACED = 32


@dataclass(frozen=True, slots=True)
class _CharFold:
    """How one non-ASCII character folds, computed once per character."""

    # In the foldable ranges: what a run of such characters folds it to.
    in_runs: bool
    sparse: str
    # Its NFKD without combining marks, as a whole-text NFKD would leave it; None when that is
    # not exactly one character or when NFKD could reorder it with its neighbours' marks.
    dense: str | None


@functools.lru_cache(maxsize=8192)
def _char_fold(char: str) -> _CharFold:
    cp = ord(char)
    in_runs = any(lo <= cp <= hi for lo, hi in _FOLDABLE_RANGES)
    decomposed = unicodedata.normalize("NFKD", char)
    kept = _COMBINING.sub("", decomposed)
    simple = not unicodedata.combining(char) and not unicodedata.combining(decomposed[0]) and len(kept) == 1
    return _CharFold(
        in_runs,
        _fold_char(char) if in_runs else char,
        kept if simple else None,
    )


def _replacements(lines: Sequence[str], data: bytes, screen_later: bool) -> dict[str, str] | None:
    """The characters to replace, each by one character, when that folds the lines joined by
    line breaks (UTF-8 in `data`) as the general path would, so offsets stay as they are. None
    when the general path is needed (invisible characters, lookalikes in Latin words, ligatures
    and other expansions, or too many distinct characters).

    Gives exactly what the general path gives: the distinct non-ASCII characters are read from
    the UTF-8 bytes in C, runs of foldable characters are counted with `str.split`, and the same
    choice between folding runs and a whole-text NFKD is made on the same count.

    Invisible characters are looked for in the non-ASCII bytes alone, a small part of most
    text; lookalikes beside Latin letters in all of it, unless `screen_later`."""
    non_ascii_utf8 = data.translate(None, _ASCII)
    if _ANY_INVISIBLE_RE2.search(non_ascii_utf8) is not None:
        return None
    if (not screen_later or _UNSTABLE_LOOKALIKES.search(non_ascii_utf8)) and _MIXED_RE2.search(data):
        return None
    if _RUNS.search(non_ascii_utf8) is None:
        return {}
    # Only now the distinct characters: a set of non-Latin-1 characters costs a new object each.
    non_ascii = non_ascii_utf8.decode("utf-8", "surrogatepass")
    # The characters in the foldable ranges: a set of every non-ASCII character (Cyrillic, CJK,
    # emoji: one new object each) is made only for a whole-text NFKD.
    foldable = _foldable(non_ascii)
    if foldable is None:
        return None
    in_runs, occurrences = foldable
    enough = (sum(map(len, lines)) + len(lines) - 1) // 64 + 16
    if _run_count(lines, in_runs, occurrences, enough) <= enough:
        sparse = {c: _char_fold(c).sparse for c in in_runs}
        changes = {c: folded for c, folded in sparse.items() if folded != c}
    else:
        dense = {c: _char_fold(c).dense for c in set(non_ascii)}
        if any(folded is None for folded in dense.values()):
            return None
        changes = {c: folded for c, folded in dense.items() if folded is not None and folded != c}
    if len(changes) > _MAX_REPLACED or any(len(v) != 1 for v in changes.values()):
        return None
    return changes


def _foldable(non_ascii: str) -> tuple[list[str], int] | None:
    """The distinct characters of `non_ascii` in the foldable ranges and how often they occur;
    None when there are more than `_MAX_REPLACED`. Counted in the non-ASCII characters alone, a
    fraction of the text. Each character found is removed from the rest with one `str.replace`
    (the count is what it removed) and the search goes on from where it was found: one read of
    the text and a shorter copy per distinct character, where a list of every occurrence cost
    an object each."""
    chars: list[str] = []
    occurrences = 0
    rest = non_ascii
    while (match := _FOLDABLE.search(rest)) is not None:
        if len(chars) == _MAX_REPLACED:
            return None
        char = match.group()
        chars.append(char)
        rest = rest[match.start() :]
        size = len(rest)
        rest = rest.replace(char, "")
        occurrences += size - len(rest)
    return chars, occurrences


# Replaced a slice at a time: a megabyte of text with one emoji in it takes four megabytes, and
# a copy of all of it per character to replace costs more in memory traffic and fresh pages than
# the replacing itself.
_SLICE = 16384


def _slices(text: str, changes: dict[str, str]) -> Iterator[str]:
    for at in range(0, len(text), _SLICE):
        part = text[at : at + _SLICE]
        for char, replacement in changes.items():
            part = part.replace(char, replacement)
        yield part


def _replaced(lines: Sequence[str], changes: dict[str, str]) -> bytes:
    """The UTF-8 of the lines joined by line breaks, each character replaced; each slice is
    encoded while it is in the cache."""
    encoded = []
    for line in lines:
        if len(line) > _SLICE:
            encoded.append(b"".join(part.encode("utf-8") for part in _slices(line, changes)))
            continue
        folded = line
        for char, replacement in changes.items():
            folded = folded.replace(char, replacement)
        encoded.append(folded.encode("utf-8"))
    return b"\n".join(encoded)


def _run_count(lines: Sequence[str], chars: list[str], occurrences: int, enough: int) -> int:
    """Maximal runs of `chars` in the lines (which hold them `occurrences` times), counted exactly
    only when there may be more than `enough` (what decides between folding runs and a
    whole-text NFKD). No run crosses a line break: the lines' counts add up."""
    if occurrences <= enough:
        return occurrences
    marker = chars[0]
    runs = 0
    for line in lines:
        marked = line
        for char in chars[1:]:
            marked = marked.replace(char, marker)
        # marked = p0 m p1 m ... m pN: the j-th marker starts a run unless the piece before it
        # is empty.
        pieces = marked.split(marker)
        runs += len(pieces) - 1 - pieces[1:-1].count("")
    return runs


def _fold_spans(text: str, spans: Iterator[tuple[int, int]], folded: Folded) -> Folded:
    out: list[str] = []
    cache: dict[str, str] = {}
    size = last = 0
    for start, end in spans:
        if start > last:
            folded._pieces.append((size, last, start - last, True))
            out.append(text[last:start])
            size += start - last
        size = _fold_run(text, start, end, folded, out, size, cache)
        last = end
    if not folded._pieces and not out:
        return folded
    if last < len(text):
        folded._pieces.append((size, last, len(text) - last, True))
        out.append(text[last:])
    folded.text = "".join(out)
    folded._starts = [p[0] for p in folded._pieces]
    return folded


def _mark(text: str, folded: Folded) -> None:
    # RE2 answers "is there any?" in one fast pass; Python's re then collects the first few.
    if _ANY_INVISIBLE_RE2.search(text) is not None:
        for cls, pattern in _CLASS_PATTERNS.items():
            offsets = []
            for match in pattern.finditer(text):
                offsets.append(match.start())
                if len(offsets) >= _MAX_MARKS:
                    break
            if offsets:
                folded.invisible[cls] = offsets
    if _MIXED_RE2.search(text) is None:
        return
    for match in _MIXED.finditer(text):
        at = match.start() if match.group(0)[0] in _HOMOGLYPHS else match.start() + 1
        folded.mixed_script.append(at)
        if len(folded.mixed_script) >= _MAX_MARKS:
            break


def _fold_run(
    text: str, start: int, end: int, folded: Folded, out: list[str], size: int, cache: dict[str, str]
) -> int:
    """One run of characters that change; returns the new folded size."""
    run = text[start:end]
    if _SMUGGLING.search(run) is not None:
        smuggled = "".join(_smuggled(c, invisible_class(c) or "") or "" for c in run)
        if smuggled.strip():
            folded.hidden.append(Hidden(start, end, smuggled))
    if _ALL_INVISIBLE.fullmatch(run) is not None:
        return size
    for offset, char in enumerate(run):
        if invisible_class(char) is not None:
            continue
        mapped = cache.get(char)
        if mapped is None:
            mapped = _fold_char(char)
            cache[char] = mapped
        folded._pieces.append((size, start + offset, len(mapped), len(mapped) == 1))
        out.append(mapped)
        size += len(mapped)
    return size


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


# Lookalikes beside Latin letters, for a rule set to screen folded UTF-8 with (`screen_later`).
# Replacing characters keeps ASCII letters and maps each character to one: a lookalike that
# folds to a lookalike stays beside the same Latin letter, so every such pair in the original
# is still a match in the folded text (and an accented letter folded to Latin may add one).
LOOKALIKE_SCREEN = _MIXED_RE2.pattern
# The lookalikes for which that does not hold (dotless i folds to "i"): with one in the text, it
# is searched for lookalikes before folding, as without `screen_later`.
_UNSTABLE_LOOKALIKES = re2.compile(
    "["
    + "".join(
        f"\\x{{{ord(c):X}}}"
        for c in sorted(_HOMOGLYPHS)
        if _char_fold(c).sparse not in _HOMOGLYPHS or (_char_fold(c).dense or c) not in _HOMOGLYPHS
    )
    + "]"
)
