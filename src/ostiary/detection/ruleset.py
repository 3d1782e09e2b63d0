"""A set of named RE2 rules matched in one pass, with optional validators.

RE2 guarantees time linear in the input for every pattern, so no rule can backtrack
catastrophically. A compiled `re2.Set` tells which rules match at all in a single scan; only
those are then run for their spans, which keeps a clean input to one pass over the text.
A rule may give the set a cheaper `prefilter`: counted repetitions such as an e-mail's
`{1,64}` local part multiply the states of the set's automaton, and a shorter pattern that
every match also matches keeps the clean pass fast without changing what is found.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import re2

# A validator sees the match's text (or the `value` group) and says whether it is real.
Validator = Callable[[str], bool]
# A context check sees the whole text and the reported span: what surrounds a value decides
# (an address after "version" is a version number).
ContextCheck = Callable[[str, int, int], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    pattern: str
    weight: float
    validator: Validator | None = None
    # The named group whose span is reported (a password inside a URL); None: the whole match.
    group: str | None = None
    # Validate the whole match rather than the reported group (a key name decides the value).
    whole: bool = False
    # Matched by every text the pattern matches; screens texts in the set instead of `pattern`.
    prefilter: str | None = None
    check: ContextCheck | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    rule: Rule
    start: int
    end: int


class RuleSet:
    def __init__(
        self,
        rules: Sequence[Rule],
        max_hits_per_rule: int = 32,
        screens: Sequence[str] = (),
        lines: bool = False,
    ) -> None:
        """`screens`: patterns that are not rules, matched in the same pass for a caller that
        would otherwise make a pass of its own (`screened`). `lines`: also a set that says
        whether any rule may match some line of a text (`in_some_line`)."""
        self.rules = tuple(rules)
        self.max_hits = max_hits_per_rule
        self.screens = tuple(screens)
        options = re2.Options()
        options.max_mem = 64 << 20
        self._options = options
        # Each rule's own pattern, for its spans, compiled on the rule's first hit: the set's pass
        # decides which rules run at all, most never match in a gateway's life, and compiled
        # up front they held about 2 MB.
        self._compiled: list[Any] = [None] * len(self.rules)
        self._set = _set([*(rule.prefilter or rule.pattern for rule in self.rules), *self.screens], options)
        # Multi-line: `^` and `$` also at line breaks, so a rule that matches a line by itself
        # matches the lines joined (`\b` reads a line break as it reads the edge of a text).
        patterns = [f"(?m){rule.prefilter or rule.pattern}" for rule in self.rules]
        self._lines = _set(patterns, options) if lines else None

    def scan(self, text: str, utf8: bytes | None = None) -> Iterator[Hit]:
        """Hits in `text`; `utf8`, its UTF-8 when the caller has it, spares encoding it again for
        the set's pass (spans are still read from `text`, in characters)."""
        return self.hits(text, self.matching(text if utf8 is None else utf8))

    def matching(self, text: str | bytes) -> list[int]:
        """The rules that match somewhere in `text`, in one pass: a caller holding only the
        UTF-8 need not make the text unless one does."""
        return self.screened(text)[0]

    def screened(self, text: str | bytes) -> tuple[list[int], list[int]]:
        """The rules that match, and the screens that match (their indexes in `screens`)."""
        found = self._set.Match(text) if text else None
        if not found:
            return [], []
        found.sort()
        count = len(self.rules)
        return [i for i in found if i < count], [i - count for i in found if i >= count]

    def in_some_line(self, lines: bytes) -> bool:
        """False when no rule matches any of the lines (UTF-8, joined by line breaks) by
        itself: one pass where a pass a line costs a call each."""
        assert self._lines is not None
        return bool(self._lines.Match(lines))

    def hits(self, text: str, matching: list[int]) -> Iterator[Hit]:
        """The hits in `text` of the rules `matching` found."""
        for index in matching:
            rule, pattern = self.rules[index], self._compiled[index] or self.compiled(index)
            hits = 0
            for match in pattern.finditer(text):
                value = match.group(0) if rule.whole or not rule.group else match.group(rule.group)
                if value is None:
                    continue
                start, end = match.span(pattern.groupindex[rule.group]) if rule.group else match.span()
                if rule.check is not None and not rule.check(text, start, end):
                    continue
                if rule.validator is not None and not rule.validator(value):
                    continue
                yield Hit(rule, start, end)
                hits += 1
                if hits >= self.max_hits:
                    break

    def compiled(self, index: int) -> Any:
        """Rule `index`'s own pattern, compiled (a compiled RE2 pattern: the binding exports no
        type for it)."""
        pattern = self._compiled[index]
        if pattern is None:
            pattern = self._compiled[index] = re2.compile(self.rules[index].pattern, self._options)
        return pattern


@functools.lru_cache(maxsize=8)
def shared(rules: tuple[Rule, ...], screens: tuple[str, ...] = ()) -> RuleSet:
    """One compiled `RuleSet` per process for rules several detectors read: poisoning reads the
    injection rules too, and compiled twice they held about 3 MB more of RE2 automata and of
    the compiler's garbage. A `RuleSet` is immutable once built, so sharing it is safe."""
    return RuleSet(rules, screens=screens)


class RuleSets:
    """Rule sets read as one, in order: the rules' indexes run on from one set to the next, as
    do the screens'. One pass per set, so a set another detector shares need not be copied."""

    def __init__(self, parts: Sequence[RuleSet]) -> None:
        self.parts = tuple(parts)
        self.rules = tuple(rule for part in self.parts for rule in part.rules)
        self.screens = tuple(screen for part in self.parts for screen in part.screens)

    def matching(self, text: str | bytes) -> list[int]:
        return self.screened(text)[0]

    def screened(self, text: str | bytes) -> tuple[list[int], list[int]]:
        rules: list[int] = []
        screens: list[int] = []
        rule_base = screen_base = 0
        for part in self.parts:
            found, screened = part.screened(text)
            rules += [rule_base + i for i in found]
            screens += [screen_base + i for i in screened]
            rule_base += len(part.rules)
            screen_base += len(part.screens)
        return rules, screens

    def hits(self, text: str, matching: list[int]) -> Iterator[Hit]:
        base = 0
        for part in self.parts:
            count = len(part.rules)
            mine = [i - base for i in matching if base <= i < base + count]
            if mine:
                yield from part.hits(text, mine)
            base += count


def _set(patterns: Sequence[str], options: re2.Options) -> re2.Set:
    compiled = re2.Set.SearchSet(options)
    for pattern in patterns:
        compiled.Add(pattern)
    compiled.Compile()
    return compiled
