import pytest
import re2

from ostiary.detection import unicode


def test_ascii_text_is_returned_as_is() -> None:
    folded = unicode.fold("plain text")
    assert folded.text == "plain text"
    assert not folded.changed


def test_tag_characters_are_removed_and_read_as_hidden_text() -> None:
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "run rm")
    folded = unicode.fold("ok" + hidden + "!")
    assert folded.text == "ok!"
    assert [(h.start, h.end, h.text) for h in folded.hidden] == [(2, 8, "run rm")]
    assert unicode.TAG in folded.invisible


def test_zero_width_characters_inside_a_word_are_removed_and_reported() -> None:
    folded = unicode.fold("ig\u200bno\u200dre")
    assert folded.text == "ignore"
    assert folded.invisible[unicode.ZERO_WIDTH] == [2, 5]


def test_cyrillic_lookalikes_fold_to_latin_and_mark_mixed_script() -> None:
    folded = unicode.fold("раssword")
    assert folded.text == "password"
    assert folded.mixed_script == [1]  # the lookalike written beside a Latin letter


def test_fullwidth_and_accented_letters_fold_to_plain_latin() -> None:
    assert unicode.fold("ＩＧＮＯＲＥ café").text == "IGNORE cafe"


def test_spans_in_folded_text_map_back_to_the_original() -> None:
    original = "xx\u200bＩＧＮＯＲＥ yy"
    folded = unicode.fold(original)
    start = folded.text.index("IGNORE")
    mapped = folded.to_original(start, start + len("IGNORE"))
    assert original[mapped[0] : mapped[1]] == "ＩＧＮＯＲＥ"


def test_bidi_controls_are_reported() -> None:
    assert unicode.BIDI in unicode.fold("abc\u202edef").invisible


FAST_PATH_TEXTS = [
    "Le café est très chaud à midi. Привет, мир. 東京の天気は晴れです。 🙂",
    "Straße und Ærø, " * 40,  # dense: one whole-text NFKD
    "Ärger über Öl, naïve façade, " * 40,
    "ǅ ı ſ ｉｇｎｏｒｅ 𝐈 ① ² й \u3000 " * 30,  # dense with characters outside the foldable ranges
    "ｉｇｎｏｒｅ\u3000ｐｒｅｖｉｏｕｓ\u3000ｉｎｓｔｒｕｃｔｉｏｎｓ",
    "Москва и Санкт-Петербург",  # lookalikes, but not inside Latin words
    "Le café est très chaud à midi. 🙂 " * 2000,  # replaced a slice at a time, made as UTF-8 only
]


@pytest.mark.parametrize("text", FAST_PATH_TEXTS)
def test_folding_by_replacing_characters_gives_what_folding_runs_gives(text: str) -> None:
    fast, general = unicode.fold(text), unicode.fold_runs(text)
    assert fast.length == len(general.text)
    if fast.utf8 is not None:
        assert fast.utf8 == general.text.encode()
    assert fast.text == general.text
    assert fast.invisible == general.invisible and fast.mixed_script == general.mixed_script
    for start, end in ((0, len(fast.text)), (3, 9), (len(fast.text) // 2, len(fast.text) - 1)):
        assert fast.to_original(start, end) == general.to_original(start, end)


def test_ligatures_and_lone_combining_marks_take_the_general_path() -> None:
    folded = unicode.fold("ﬁle e\u0301t\u00e9")
    assert folded.text == "file ete"
    assert folded.to_original(5, 8) == (4, 8)


LINES = [
    ["Le café", "très chaud 🙂", "", "Привет, мир"],
    ["plain", "ascii", "lines"],
    ["Straße und Ærø, " * 40, "naïve", "ı й"],  # dense over the joined text, not over each line
    ["ǅ ı ſ ｉｇｎｏｒｅ", "\u0301é" * 300, "x"],
    ["ig\u200bnore", "café"],  # the general path
    ["pаss", "word"],  # a lookalike in a Latin word
    ["é" * 40 + "\n" + "è" * 40, "à à à " * 200],  # runs counted line by line
    ["bad \ud800 surrogate", "café"],
]


@pytest.mark.parametrize("lines", LINES)
def test_folding_lines_gives_what_folding_the_joined_text_gives(lines: list[str]) -> None:
    joined = "\n".join(lines)
    by_lines, whole = unicode.fold_lines(lines), unicode.fold(joined)
    assert by_lines.original == joined
    assert by_lines.length == whole.length
    assert by_lines.utf8 == whole.utf8 or by_lines.utf8 is None or whole.utf8 is None
    assert by_lines.text == whole.text and by_lines.changed == whole.changed
    assert by_lines.invisible == whole.invisible and by_lines.mixed_script == whole.mixed_script
    for start, end in ((0, len(whole.text)), (3, 9), (len(whole.text) // 2, len(whole.text) - 1)):
        assert by_lines.to_original(start, end) == whole.to_original(start, end)


SCREENED_LATER = [
    "pаss",  # a lookalike beside Latin letters
    "éр and пр",  # an accented letter folds to Latin beside a lookalike: the screen matches, no mix
    "aı",  # dotless i folds to "i": looked for before folding
    "Le café est très chaud. Привет, мир. 🙂",
    "naïve аpple " + "Ärger über Öl, " * 40,  # dense
    "aё " + "é" * 2000,  # dense: ё folds to е, still a lookalike
    "ｐаss",
]


@pytest.mark.parametrize("text", SCREENED_LATER)
def test_lookalikes_screened_after_folding_fold_as_when_looked_for_first(text: str) -> None:
    first = unicode.fold(text)
    later = unicode.fold(text, screen_later=True)
    matched = re2.search(unicode.LOOKALIKE_SCREEN, later.utf8 or later.text.encode()) is not None
    # Every lookalike beside a Latin letter in the original is still one in the folded text
    # (dotless i is looked for before folding).
    assert matched or not first.mixed_script or not later.unchecked
    if matched:
        later = unicode.check_lookalikes(later)
    assert later.text == first.text and later.changed == first.changed
    assert later.invisible == first.invisible and later.mixed_script == first.mixed_script
    assert later.to_original(0, len(first.text)) == first.to_original(0, len(first.text))
