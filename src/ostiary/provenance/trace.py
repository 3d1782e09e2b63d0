"""A session's trace: what entered the model's context through Ostiary, and an index of its
distinctive fragments, so a later call's arguments can be linked to the results they echo.

Bounded per session: at most `max_results` results are remembered and at most `max_keys`
fragments indexed; the oldest results' fragments are dropped first. The session's facts (was
untrusted or private content read, which detectors fired) are never dropped: a session that has
read untrusted content stays marked for its whole life, however much it reads afterwards.
"""

from __future__ import annotations

import itertools
import os
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ostiary.provenance.fragments import (
    SHINGLE,
    WINDOW,
    Fragment,
    commands,
    fragments,
    shingles,
    winnowed,
    words,
)
from ostiary.provenance.labels import Labels

# Provenance ids: a random prefix per gateway process and a counter (as the audit log's exchange ids).
_PREFIX = os.urandom(6).hex()
_SERIAL = itertools.count(1)
# Sources kept per fragment: the first results that brought it.
_SOURCES = 4
LONGEST_FRAGMENT = 200


def new_id() -> str:
    return f"pv-{_PREFIX}-{next(_SERIAL):x}"


@dataclass(slots=True)
class Entry:
    """One result, resource read or prompt that reached the client."""

    id: str
    ts_us: int
    server: str | None
    target: str | None
    method: str
    labels: Labels
    # The inspections that reported something about it (injection, secrets, ...), and their codes.
    findings: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    keys: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Echo:
    """A fragment of a call's arguments found in an earlier result."""

    source: Entry
    kind: str  # url, email, account, path, command, words
    fragment: str

    def as_dict(self) -> dict[str, Any]:
        """What a call's record keeps of the echo; the result's own record has the rest."""
        source = self.source
        return {
            "id": source.id,
            "kind": self.kind,
            "fragment": self.fragment,
            "server": source.server,
            "tool": source.target,
            "trust": source.labels.trust,
            "data": source.labels.data,
        }


def args_from(echoes: list[Echo]) -> dict[str, list[str]]:
    """What a policy condition reads of a call's echoes: the distinct labels, findings, servers
    and fragment kinds of the results they come from. Flat lists, so a rule needs no CEL macro
    (`"untrusted" in args_from.trust`), which cel-python evaluates far more slowly than `in`."""
    summary: dict[str, set[str]] = {
        k: set() for k in ("ids", "trust", "data", "findings", "servers", "kinds")
    }
    for echo in echoes:
        source = echo.source
        summary["ids"].add(source.id)
        summary["trust"].add(source.labels.trust)
        summary["data"].add(source.labels.data)
        summary["findings"].update(source.findings)
        if source.server is not None:
            summary["servers"].add(source.server)
        summary["kinds"].add(echo.kind)
    return {k: sorted(v) for k, v in summary.items()}


@dataclass(slots=True)
class Facts:
    untrusted_seen: bool = False
    private_seen: bool = False
    findings: set[str] = field(default_factory=set)
    trust_seen: set[str] = field(default_factory=set)
    servers: set[str] = field(default_factory=set)
    results: int = 0
    since_us: int | None = None
    # The facts as a record shows them, rebuilt only after a result changed them.
    shown: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.shown is not None:
            return self.shown
        self.shown = {
            "untrusted_seen": self.untrusted_seen,
            "private_seen": self.private_seen,
            "findings": sorted(self.findings),
            "trust_seen": sorted(self.trust_seen),
            "servers": sorted(self.servers),
            "results": self.results,
        }
        return self.shown


class SessionTrace:
    def __init__(self, max_results: int = 1000, max_keys: int = 250_000) -> None:
        self.max_results = max_results
        self.max_keys = max_keys
        self.facts = Facts()
        self.entries: deque[Entry] = deque()
        self._index: dict[Any, Entry | list[Entry]] = {}
        # Results whose text is yet to be indexed: indexing waits for the loop's next turn, and
        # any call judged before then indexes them first, so no call outruns the index.
        self._pending: list[tuple[Entry, list[str]]] = []
        self.used = 0.0

    def add(self, entry: Entry, texts: list[str], untrusted: bool) -> None:
        """Record what reached the client now; its fragments are indexed by `flush`."""
        facts = self.facts
        facts.shown = None
        facts.results += 1
        if facts.since_us is None:
            facts.since_us = entry.ts_us
        facts.untrusted_seen = facts.untrusted_seen or untrusted
        facts.private_seen = facts.private_seen or entry.labels.data == "private"
        facts.findings.update(entry.findings)
        facts.trust_seen.add(entry.labels.trust)
        if entry.server is not None:
            facts.servers.add(entry.server)
        self._pending.append((entry, texts))

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        for entry, texts in pending:
            self._index_entry(entry, texts)

    def _index_entry(self, entry: Entry, texts: list[str]) -> None:
        keys: set[Any] = set()
        for text in texts:
            if len(text) < 6:
                continue
            keys.update((f.kind, f.text) for f in fragments(text))
            keys.update(winnowed(text))
        index = self._index
        for key in keys:
            found = index.get(key)
            if found is None:
                index[key] = entry
            elif isinstance(found, list):
                if len(found) < _SOURCES:
                    found.append(entry)
            elif found is not entry:
                index[key] = [found, entry]
        entry.keys = list(keys)
        self.entries.append(entry)
        while self.entries and (len(self.entries) > self.max_results or len(index) > self.max_keys):
            self._forget(self.entries.popleft())

    def _forget(self, entry: Entry) -> None:
        index = self._index
        for key in entry.keys:
            found = index.get(key)
            if found is entry:
                del index[key]
            elif isinstance(found, list):
                kept = [e for e in found if e is not entry]
                if not kept:
                    del index[key]
                else:
                    index[key] = kept[0] if len(kept) == 1 else kept
        entry.keys = []

    @property
    def indexed(self) -> int:
        return len(self._index)

    def drop_index(self) -> None:
        """Forget every result's fragments (the gateway-wide budget is spent); keep the facts."""
        self.flush()
        self._index.clear()
        for entry in self.entries:
            entry.keys = []

    def echoes(self, texts: Iterable[str]) -> list[Echo]:
        """The earlier results each fragment of these argument strings comes from."""
        self.flush()
        if not self._index:
            return []
        found: dict[tuple[str, str], Echo] = {}
        for text in texts:
            if len(text) < 6:
                continue
            # Words of the fragments already linked: a run made of nothing else (the words of a
            # URL) says no more than the fragment's own link.
            linked: set[str] = set()
            any_linked = False
            for fragment in _all_fragments(text):
                any_linked |= self._link(found, (fragment.kind, fragment.text), fragment.kind, fragment.text)
                linked.update(words(fragment.text))
            if not any_linked:
                linked.clear()
            tokens = words(text)
            hashed = shingles(tokens)
            shared = self._index.keys() & hashed
            if not shared:
                continue
            # Winnowing keeps about one shingle in WINDOW: matches that close belong to one run.
            hits = [i for i, value in enumerate(hashed) if value in shared]
            first = last = hits[0]
            for i in [*hits[1:], None]:
                if i is not None and i - last <= WINDOW:
                    last = i
                    continue
                run = tokens[first : last + SHINGLE]
                if not linked.issuperset(run):
                    self._link(found, hashed[first], "words", " ".join(run))
                if i is not None:
                    first = last = i
        return list(found.values())

    def _link(self, found: dict[tuple[str, str], Echo], key: Any, kind: str, fragment: str) -> bool:
        sources = self._index.get(key)
        if sources is None:
            return False
        for source in sources if isinstance(sources, list) else (sources,):
            if (source.id, fragment) not in found:
                found[(source.id, fragment)] = Echo(source, kind, fragment[:LONGEST_FRAGMENT])
        return True


def _all_fragments(text: str) -> Iterable[Fragment]:
    yield from fragments(text)
    # A whole argument that is one command is a command, even without a line of its own.
    words_ = text.split(maxsplit=64)
    if len(words_) >= 2 and "\n" not in text:
        yield from commands(" ".join(words_))


class Traces:
    """Every live session's trace; sessions idle longer than `window` seconds, or beyond
    `max_sessions`, are forgotten, oldest first. Beyond `max_total_keys` fragments across all
    sessions, the least recently used sessions' indexes are dropped (their facts are kept)."""

    def __init__(
        self,
        max_sessions: int = 1000,
        window: float = 3600.0,
        max_results: int = 1000,
        max_keys: int = 250_000,
        max_total_keys: int = 500_000,
    ) -> None:
        self.max_total_keys = max_total_keys
        self.max_sessions = max_sessions
        self.window = window
        self.max_results = max_results
        self.max_keys = max_keys
        self._sessions: OrderedDict[str, SessionTrace] = OrderedDict()

    def get(self, session: str, now: float) -> SessionTrace:
        sessions = self._sessions
        trace = sessions.get(session)
        if trace is None or now - trace.used > self.window:
            trace = sessions[session] = SessionTrace(self.max_results, self.max_keys)
        trace.used = now
        sessions.move_to_end(session)
        while len(sessions) > self.max_sessions:
            sessions.popitem(last=False)
        return trace

    def peek(self, session: str) -> SessionTrace | None:
        return self._sessions.get(session)

    def flush(self, trace: SessionTrace) -> None:
        """Index a session's pending results, then keep every session's index within budget."""
        trace.flush()
        total = sum(t.indexed for t in self._sessions.values())
        for other in list(self._sessions.values()):
            if total <= self.max_total_keys:
                break
            if other is not trace and other.indexed:
                total -= other.indexed
                other.drop_index()
