"""The gitleaks rule pack, run the way gitleaks runs it, over text instead of files; the Nosey
Parker and Kingfisher packs, generated into the same form (`scripts/gen_rule_packs.py`), run
with it.

`rules/gitleaks.json` is generated from gitleaks' own configuration by
`scripts/gen_gitleaks_rules.py` (pinned upstream version, MIT notice inside). Keywords make it
fast: one case-insensitive pass over the text says which keywords occur, and only the rules
that name one of them run their regex; most text names none. A match then passes gitleaks'
tests in gitleaks' order: the secret is the rule's secret group (or its first non-empty
group), its Shannon entropy must exceed the rule's floor, and neither the global nor the
rule's allowlists (regexes on the secret, the match or the line; stopwords) may hold.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import re2

from ostiary.detection.checksums import entropy

PREFIX = "secret."


@dataclass(frozen=True, slots=True)
class Allowlist:
    target: str  # "secret", "match" or "line"
    regexes: tuple[LazyRegex, ...]
    stopwords: tuple[str, ...]

    def holds(self, secret: str, match: str, line: str) -> bool:
        target = {"match": match, "line": line}.get(self.target, secret)
        if target and any(r.search(target) for r in self.regexes):
            return True
        lowered = secret.lower()
        return any(word in lowered for word in self.stopwords)


@dataclass(frozen=True, slots=True)
class GitleaksRule:
    id: str
    regex: LazyRegex
    keywords: tuple[str, ...]
    entropy: float
    secret_group: int
    allowlists: tuple[Allowlist, ...]
    # A generic rule yields to a specific one on the same span, as in gitleaks.
    generic: bool
    # The regex runs without gitleaks' leading key-name part (see `_core`).
    lead: bool


@dataclass(frozen=True, slots=True)
class GitleaksHit:
    rule: str
    start: int
    end: int
    generic: bool
    # Where the whole match begins: before `start` when the rule reads a key's name.
    match_start: int
    # Of a credential in parts (an account name and its key), where its last part begins.
    last_start: int | None = None


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = 64 << 20
    return options


class LazyRegex:
    """A pattern compiled on first use. Most of the pack's rules never run in a gateway's life
    (their keywords never occur), and compiled they would hold a share of its memory budget;
    the pack ships with Ostiary and its tests compile every pattern."""

    __slots__ = ("_compiled", "_options", "pattern")

    def __init__(self, pattern: str, options: re2.Options) -> None:
        self.pattern = pattern
        self._options = options
        self._compiled: Any = None

    @property
    def compiled(self) -> Any:
        if self._compiled is None:
            self._compiled = re2.compile(self.pattern, self._options)
        return self._compiled

    @property
    def groups(self) -> int:
        groups: int = self.compiled.groups
        return groups

    def search(self, data: Any, pos: int = 0) -> Any:
        return self.compiled.search(data, pos)


def _allowlist(raw: dict[str, Any], options: re2.Options) -> Allowlist:
    return Allowlist(
        str(raw.get("target", "secret")),
        tuple(LazyRegex(r, options) for r in raw.get("regexes", [])),
        tuple(raw.get("stopwords", [])),
    )


class GitleaksRules:
    """The generated rule pack: `find` gives the secret spans in a text."""

    def __init__(self, data: dict[str, Any], disabled: frozenset[str] = frozenset()) -> None:
        options = _options()
        self.version = str(data.get("version", ""))
        rules = []
        for raw in data["rules"]:
            if PREFIX + raw["id"] in disabled:
                continue
            core, lead = _core(raw["regex"], "generic" in raw["id"])
            rules.append(
                GitleaksRule(
                    PREFIX + raw["id"],
                    LazyRegex(core, options),
                    tuple(raw["keywords"]),
                    float(raw["entropy"]),
                    int(raw["secret_group"]),
                    tuple(_allowlist(a, options) for a in raw["allowlists"]),
                    "generic" in raw["id"],
                    lead,
                )
            )
        self.rules = tuple(rules)
        glob = data.get("global_allowlist", {})
        self.global_allowlist = Allowlist(
            "secret",
            tuple(LazyRegex(r, options) for r in glob.get("regexes", [])),
            tuple(glob["stopwords"]),
        )
        keywords = sorted({k for rule in self.rules for k in rule.keywords})
        self._keyword_rules: list[list[int]] = [
            [i for i, rule in enumerate(self.rules) if word in rule.keywords] for word in keywords
        ]
        self._always = [i for i, rule in enumerate(self.rules) if not rule.keywords]
        self._keywords = re2.Set.SearchSet(options)
        for word in keywords:
            self._keywords.Add("(?i)" + re2.escape(word))
        self._keywords.Compile()
        # Rules keyed on the words config and code hold are candidates together there: they
        # share groups; those keyed on a short literal are grouped apart.
        worded = [i for i, rule in enumerate(self.rules) if _worded(rule)]
        short = [i for i, rule in enumerate(self.rules) if _frequent(rule) and not _worded(rule)]
        self._groups = [worded[k : k + _WORDED_GROUP] for k in range(0, len(worded), _WORDED_GROUP)]
        self._groups += [short[k : k + _SCREEN_GROUP] for k in range(0, len(short), _SCREEN_GROUP)]
        self._group_of = {i: g for g, members in enumerate(self._groups) for i in members}
        self._screens = [
            LazyRegex(_joined(self.rules[i].regex.pattern for i in g), options) for g in self._groups
        ]

    def _screened(self, utf8: bytes, chosen: list[int]) -> list[int]:
        """`chosen` without the rules keyed on words most text holds (`key`, `token`, `api`, a
        three-letter prefix) that one pass of their group's regexes, joined as alternatives,
        finds none of: a pass per group instead of one per rule, on the text where they run most
        and match least. Groups are small, so that a joined regex's automaton stays small; each
        is compiled on first use."""
        by_group: dict[int, list[int]] = {}
        for i in chosen:
            group = self._group_of.get(i)
            if group is not None:
                by_group.setdefault(group, []).append(i)
        dropped: set[int] = set()
        for group, members in by_group.items():
            if len(members) < _SCREEN_MIN:
                continue
            if self._screens[group].search(utf8) is None:
                dropped.update(members)
        return [i for i in chosen if i not in dropped] if dropped else chosen

    def candidates(self, utf8: bytes) -> list[int]:
        """The rules whose keywords occur in the text, from one pass."""
        found = self._keywords.Match(utf8) if utf8 else None
        chosen = set(self._always)
        for index in found or ():
            chosen.update(self._keyword_rules[index])
        return sorted(chosen)

    def matching(self, utf8: bytes) -> list[int]:
        """The rules whose regex matches somewhere in the text: screens many fields at once,
        where a short keyword (`ey` of a JWT, `sk` of a Twilio key) occurs in most text."""
        chosen = self._screened(utf8, self.candidates(utf8))
        return [i for i in chosen if self.rules[i].regex.search(utf8) is not None]

    def find(
        self,
        text: str,
        utf8: bytes | None = None,
        rules: list[int] | None = None,
        veto: Callable[[str, GitleaksHit], bool] | None = None,
        max_hits: int = 32,
    ) -> Iterator[GitleaksHit]:
        """Secret spans in `text` (in characters); `utf8`, its UTF-8 if the caller has it (the
        regexes run over bytes: re2 would otherwise encode the text again for every rule);
        `rules`, the only rules to run, when a screen over more text has chosen them; `veto`,
        the caller's own test of a hit (a placeholder, a digest's key name)."""
        data = text.encode("utf-8") if utf8 is None else utf8
        offsets = _Offsets(data, len(text))
        for index in self._screened(data, self.candidates(data)) if rules is None else rules:
            rule = self.rules[index]
            hits = retries = pos = 0
            while hits < max_hits and pos <= len(data):
                match = rule.regex.search(data, pos)
                if match is None:
                    break
                hit = self._hit(rule, match, data, offsets)
                if hit is not None and (veto is None or not veto(text, hit)):
                    yield hit
                    hits += 1
                    pos = max(match.end(), match.start() + 1)
                    continue
                # A rejected match may have swallowed the start of a real one (`secret_key",
                # "credential": "…"` reads `credential` as the value): search again from its
                # secret, a bounded number of times, then from its end as gitleaks does.
                span = self._secret_span(rule, match, data)
                retries += 1
                if span is not None and retries <= _RETRIES and span[0] > match.start():
                    pos = span[0]
                else:
                    pos = max(match.end(), match.start() + 1)

    def _hit(self, rule: GitleaksRule, match: Any, data: bytes, offsets: _Offsets) -> GitleaksHit | None:
        """The match as a hit, or None where gitleaks' own tests reject it."""
        span = self._secret_span(rule, match, data)
        if span is None:
            return None
        start, end = span
        secret = data[start:end].decode("utf-8", "replace")
        last = _last_span(rule, match)
        # The entropy floor is for the secret, or of a credential in parts its last part.
        part = secret if last is None else data[last[0] : last[1]].decode("utf-8", "replace")
        if rule.entropy and entropy(part) <= rule.entropy:
            return None
        lead = _context_start(rule, data, match.start())
        whole = data[lead : match.end()].decode("utf-8", "replace").strip("\n")
        line = _line(data, match.start(), match.end()).decode("utf-8", "replace")
        if self.global_allowlist.holds(secret, whole, line):
            return None
        if any(a.holds(secret, whole, line) for a in rule.allowlists):
            return None
        return GitleaksHit(
            rule.id,
            offsets.chars(start),
            offsets.chars(end),
            rule.generic,
            offsets.chars(lead),
            None if last is None else offsets.chars(last[0]),
        )

    @staticmethod
    def _secret_span(rule: GitleaksRule, match: Any, data: bytes) -> tuple[int, int] | None:
        groups = rule.regex.groups
        if not groups:
            start, end = match.span()
            while end > start and data[end - 1] == 0x0A:
                end -= 1
            return (start, end) if end > start else None
        if rule.secret_group < 0:
            # A credential in parts (a user and a password, a client id and its secret): from
            # the first group that took part to the last, so redaction removes every part.
            spans = [match.span(g) for g in range(1, groups + 1)]
            spans = [(a, b) for a, b in spans if a >= 0 and b > a]
            return (spans[0][0], spans[-1][1]) if spans else None
        if rule.secret_group:
            if rule.secret_group > groups:
                return None
            span: tuple[int, int] = match.span(rule.secret_group)
            return span if span[0] >= 0 and span[1] > span[0] else None
        for group in range(1, groups + 1):
            span = match.span(group)
            if span[0] >= 0 and span[1] > span[0]:
                return span
        return None


def _last_span(rule: GitleaksRule, match: Any) -> tuple[int, int] | None:
    """Of a credential in parts (the key after its account name, the password after its user),
    the span of the last part; None for a one-part secret."""
    if rule.secret_group >= 0:
        return None
    for group in range(rule.regex.groups, 0, -1):
        start, end = match.span(group)
        if start >= 0 and end > start:
            return int(start), int(end)
    return None


# Keywords most configuration, code and prose hold: a rule keyed on one (or on three letters or
# fewer) is a candidate in most text, and is screened with the others like it (`_screened`).
FREQUENT_WORDS = frozenset({
    "key", "secret", "token", "password", "pass", "passwd", "pwd", "api", "app", "access",
    "private", "client", "auth", "user", "username", "session", "value", "http://", "https://",
    "bearer", "login", "credential", "credentials", "uid", "consumer", "customer", "account",
})  # fmt: skip
# Rules of that kind joined in one screen (those keyed on a word, those keyed on a short
# literal): one joined regex of all of them would hold ~10 MB more of automaton on varied text,
# groups of this size ~2 MB. From two candidates of a group on, its screen is the cheaper.
_SCREEN_GROUP = 8
_WORDED_GROUP = 12
_SCREEN_MIN = 2


_NAMED_GROUP = re2.compile(r"\(\?P<\w+>")


def _joined(patterns: Iterable[str]) -> str:
    """The patterns as alternatives of one regex, their named groups unnamed (two rules may
    name a group alike, which one regex cannot hold; a screen reads no group)."""
    return "|".join(f"(?:{_NAMED_GROUP.sub('(', p)})" for p in patterns)


def _worded(rule: GitleaksRule) -> bool:
    return any(w.strip("_-.:=\"' ") in FREQUENT_WORDS for w in rule.keywords)


def _frequent(rule: GitleaksRule) -> bool:
    return _worded(rule) or any(len(w) <= 3 for w in rule.keywords)


# Searches again after rejected matches, per rule and text: keeps the pass linear.
_RETRIES = 64


class _Offsets:
    """Byte offsets to character offsets; the identity for ASCII text."""

    def __init__(self, data: bytes, chars: int) -> None:
        self.data = data
        self.ascii = len(data) == chars

    def chars(self, offset: int) -> int:
        return offset if self.ascii else len(self.data[:offset].decode("utf-8", "ignore"))


# gitleaks' context rules begin with up to 50 characters of the key's name before its keyword.
# Run without that lead the regex is several times cheaper; the lead is only read back for the
# allowlists that test the whole match (`bucket_key` is not a secret's name).
_LEAD = "(?i)[\\w.-]{0,50}?"
_NAME = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


# gitleaks ends a token at a quote, a space, `;` or an escaped line break: what code and config
# files hold. Tool results are prose as often, where a token is followed by `.`, `,` or `)`.
# Provider rules (a fixed prefix and alphabet) also end there; the generic rule keeps gitleaks'
# ending, since in prose a word before a full stop is no token.
_END = "(?:[\\x60'\"\\s;]|\\\\[nr]|$)"
_PROSE_END = "(?:[\\x60'\"\\s;.,:)\\]}>|]|\\\\[nr]|$)"


def _core(pattern: str, generic: bool) -> tuple[str, bool]:
    if not generic and pattern.endswith(_END):
        pattern = pattern[: -len(_END)] + _PROSE_END
    if pattern.startswith(_LEAD):
        return "(?i)" + pattern[len(_LEAD) :], True
    return pattern, False


def _context_start(rule: GitleaksRule, data: bytes, start: int) -> int:
    if not rule.lead:
        return start
    begin = start
    while begin > 0 and start - begin < 50 and data[begin - 1] in _NAME:
        begin -= 1
    return begin


def _line(data: bytes, start: int, end: int) -> bytes:
    begin = data.rfind(b"\n", 0, start) + 1
    stop = data.find(b"\n", end)
    return data[begin : len(data) if stop < 0 else stop]


# The maintained rule packs Ostiary ships, each generated from its pinned upstream commit:
# gitleaks (scripts/gen_gitleaks_rules.py), Nosey Parker, Kingfisher and Titus, Nosey Parker's
# successor (scripts/gen_rule_packs.py).
PACKS = ("gitleaks", "noseyparker", "kingfisher", "titus")


def pack(name: str = "gitleaks") -> dict[str, Any]:
    """One generated rule file. Not kept: a gateway reads the packs once, into `GitleaksRules`,
    and the decoded files held about 1 MB for nothing after that."""
    source = importlib.resources.files("ostiary.detection").joinpath(f"rules/{name}.json")
    data: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    return data


def packs(names: tuple[str, ...] = PACKS) -> dict[str, Any]:
    """The named packs as one rule file. gitleaks' global allowlist (documentation values,
    placeholders) holds for every rule; a rule whose regex and entropy floor an earlier pack
    already has is run once (Kingfisher adopted many of Nosey Parker's rules verbatim)."""
    rules: list[dict[str, Any]] = []
    seen: set[tuple[str, float]] = set()
    read = {name: pack(name) for name in dict.fromkeys([*names, "gitleaks"])}
    for name in names:
        for rule in read[name]["rules"]:
            key = (rule["regex"], float(rule["entropy"]))
            if key not in seen:
                seen.add(key)
                rules.append(rule)
    glob = read["gitleaks"]["global_allowlist"]
    versions = ", ".join(f"{n} {read[n]['version']}" for n in names)
    return {"version": versions, "global_allowlist": glob, "rules": rules}
