"""One text, every layer a model would read: as sent, folded, hidden in invisibles, decoded.

Injection and poisoning share this scanner; they differ in their rules and in how much weight
they give to the mere presence of invisible characters or encoded text. Spans found on a derived
layer are reported on the original segment that produced it.

The first `alone` decoded segments of a text are each read by themselves; any beyond them are
read together, joined into one text, so that however many harmless encoded texts come first, a
payload after them is still read, at the cost of one scan rather than one per segment.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from ostiary.detection import ciphers, decoding, unicode
from ostiary.detection.findings import Finding, Severity
from ostiary.detection.ruleset import Rule, RuleSet, RuleSets, shared


@dataclass(frozen=True, slots=True)
class LayerWeights:
    """Weight of each obfuscation signal by itself (0 disables the finding)."""

    invisible: dict[str, float] = field(default_factory=dict)
    mixed_script: float = 0.0
    # An encoded segment that decodes to readable text, whatever it says.
    encoded: float = 0.0
    # An encoded or hidden segment in which a rule fired: evidence of intent to hide.
    obfuscated_hit: float = 0.5


# Another source of findings over the same text (the optional classifier).
Extra = Callable[[str, str], list[Finding]]
# Where a span of a derived text (decoded, hidden) is reported: the original segment's span.
Locate = Callable[[int, int], tuple[int, int]]

# The screens every scanner's rule set carries, by index.
_LOOKALIKE, _CIPHER = 0, 1
# Between segments read together: no rule's pattern crosses a NUL followed by a line break, and
# the line break lets a segment start as a line, as it would alone.
_JOIN = "\x00\n"


class TextScanner:
    def __init__(
        self,
        kind: str,
        rules: Sequence[Rule],
        weights: LayerWeights,
        depth: int = 2,
        extra: Extra | None = None,
        alone: int = 64,
        common: Sequence[Rule] = (),
    ) -> None:
        """`common`: rules other scanners of the process read too (poisoning reads injection's),
        read before `rules` and compiled once for all of them."""
        self.kind = kind
        # The lookalike and cipher screens ride on the rules' pass over the folded text: folding
        # leaves its search for lookalikes beside Latin letters to this pass, and a text without
        # a cipher's mark is not searched for one again.
        screens = (unicode.LOOKALIKE_SCREEN, ciphers.SCREEN)
        self.rules: RuleSet | RuleSets
        if not common:
            self.rules = RuleSet(rules, screens=screens)
        elif not rules:
            self.rules = shared(tuple(common), screens)
        else:
            self.rules = RuleSets([shared(tuple(common), screens), RuleSet(rules)])
        self.weights = weights
        self.depth = depth
        self.second_opinion = extra
        self.alone = alone

    def scan(self, text: str, path: str = "") -> list[Finding]:
        return self._scan_folded(unicode.fold(text, screen_later=True), path)

    def scan_lines(self, lines: Sequence[str], path: str = "") -> list[Finding]:
        """`scan` of the lines joined by line breaks; the joined text is made only if read."""
        return self._scan_folded(unicode.fold_lines(lines, screen_later=True), path)

    def _scan_folded(self, folded: unicode.Folded, path: str) -> list[Finding]:
        findings: list[Finding] = []
        self._scan(folded, path, findings, self.depth, None)
        if self.second_opinion is not None:
            findings.extend(self.second_opinion(folded.original, path))
        return findings

    def _scan(
        self, folded: unicode.Folded, path: str, out: list[Finding], depth: int, outer: Locate | None
    ) -> None:
        # Encoded once for the rule set and the decoder, strictly: a lone surrogate fails here as
        # it would in RE2.
        data = folded.utf8 if folded.utf8 is not None else folded.text.encode("utf-8")
        matching, screens = self.rules.screened(data)
        ciphered = _CIPHER in screens
        if folded.unchecked and _LOOKALIKE in screens:
            checked = unicode.check_lookalikes(folded)
            if checked is not folded:
                folded = checked
                data = folded.text.encode("utf-8")
                matching, screens = self.rules.screened(data)
                ciphered = _CIPHER in screens
        layer = "raw" if outer is None else "decoded"
        # Two patterns of one rule on one phrase (an exact and a misspelt form) are one finding.
        taken: dict[str, list[tuple[int, int]]] = {}
        for hit in self.rules.hits(folded.text, matching) if matching else ():
            spans = taken.setdefault(hit.rule.id, [])
            if any(hit.start < b and a < hit.end for a, b in spans):
                continue
            spans.append((hit.start, hit.end))
            start, end = folded.to_original(hit.start, hit.end)
            hit_layer = layer
            if outer is not None:
                start, end = outer(start, end)
            elif folded.changed and folded.original[start:end] != folded.text[hit.start : hit.end]:
                hit_layer = "normalized"
            out.append(self._finding(hit.rule.id, path, start, end, hit.rule.weight, hit_layer))
        if outer is None:
            self._unicode_findings(folded, path, out)
        if depth <= 0:
            return
        for hidden in folded.hidden:
            span = outer(hidden.start, hidden.end) if outer else (hidden.start, hidden.end)
            self._rescan(hidden.text, path, out, depth, _fixed(span), {span: "hidden"})
        segments = decoding.segments_of(data, folded.length)
        spans = []
        for segment in segments:
            span = folded.to_original(segment.start, segment.end)
            spans.append(outer(*span) if outer else span)
        encoded = self.weights.encoded
        if encoded:
            rule = f"{self.kind}.encoded_text"
            out.extend(self._finding(rule, path, *sp, encoded, layer) for sp in spans[: self.alone])
        self._read_each(segments, spans, path, out, depth)
        if outer is None and ciphered:
            # Ciphers a reader undoes by hand count only where a rule fires inside them: a line
            # of spaced letters or of Morse code says nothing by itself.
            undone = ciphers.segments(folded.text, data)
            self._read_each(undone, [folded.to_original(c.start, c.end) for c in undone], path, out, depth)

    def _read_each(
        self,
        segments: Sequence[decoding.Decoded],
        spans: Sequence[tuple[int, int]],
        path: str,
        out: list[Finding],
        depth: int,
    ) -> None:
        """The first `alone` derived texts each by itself, any beyond them joined into one."""
        for segment, span in zip(segments[: self.alone], spans, strict=False):
            self._rescan(segment.text, path, out, depth, _fixed(span), {span: segment.encoding})
        rest = segments[self.alone :]
        if rest:
            joined, locate = _together([s.text for s in rest], list(spans[self.alone :]))
            self._rescan(
                joined,
                path,
                out,
                depth,
                locate,
                {sp: s.encoding for s, sp in zip(rest, spans[self.alone :], strict=True)},
            )

    def _rescan(
        self,
        text: str,
        path: str,
        out: list[Finding],
        depth: int,
        locate: Locate,
        how: dict[tuple[int, int], str],
    ) -> None:
        """Scan a derived text; each original segment in which a rule fired is itself a finding."""
        before = len(out)
        self._scan(unicode.fold(text, screen_later=True), path, out, depth - 1, locate)
        if len(out) == before or not self.weights.obfuscated_hit:
            return
        weight = self.weights.obfuscated_hit
        hit_spans = dict.fromkeys((f.start, f.end) for f in out[before:])
        for span in hit_spans if len(how) > 1 else how:
            encoding = how.get(span)
            if encoding is not None:
                out.append(
                    self._finding(f"{self.kind}.obfuscated.{encoding}", path, *span, weight, "decoded")
                )

    def _unicode_findings(self, folded: unicode.Folded, path: str, out: list[Finding]) -> None:
        for cls, offsets in folded.invisible.items():
            weight = self.weights.invisible.get(cls, 0.0)
            if weight and offsets:
                first = offsets[0]
                out.append(self._finding(f"{self.kind}.unicode.{cls}", path, first, first + 1, weight, "raw"))
        if self.weights.mixed_script and folded.mixed_script:
            first = folded.mixed_script[0]
            weight = self.weights.mixed_script
            out.append(
                self._finding(f"{self.kind}.unicode.mixed_script", path, first, first + 1, weight, "raw")
            )

    def _finding(self, rule: str, path: str, start: int, end: int, weight: float, layer: str) -> Finding:
        return Finding(self.kind, rule, Severity.of_weight(weight), path, start, end, weight, layer)


def _fixed(span: tuple[int, int]) -> Locate:
    return lambda _start, _end: span


def _together(texts: list[str], spans: list[tuple[int, int]]) -> tuple[str, Locate]:
    """Texts joined into one, and where a span of the joined text comes from: the original span
    of the text it starts in."""
    starts = []
    size = 0
    for text in texts:
        starts.append(size)
        size += len(text) + len(_JOIN)

    def locate(start: int, _end: int) -> tuple[int, int]:
        return spans[max(bisect.bisect_right(starts, start) - 1, 0)]

    return _JOIN.join(texts), locate


def scan_fields(scanner: TextScanner, fields: Iterable[tuple[str, str]]) -> list[Finding]:
    """Scan several fields as one text joined by newlines, so a phrase split across fields
    still matches; each finding is then located back in the field where it starts."""
    paths: list[str] = []
    starts: list[int] = []
    parts: list[str] = []
    size = 0
    for path, text in fields:
        paths.append(path)
        starts.append(size)
        parts.append(text)
        size += len(text) + 1
    if not parts:
        return []
    located = []
    for finding in scanner.scan_lines(parts):
        idx = max(bisect.bisect_right(starts, finding.start) - 1, 0)
        base = starts[idx]
        end = min(finding.end - base, len(parts[idx]))
        located.append(replace(finding, path=paths[idx], start=finding.start - base, end=end))
    return located
