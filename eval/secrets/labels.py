"""Which positive items carry nothing that tells their value from an ordinary number.

A labelling question, kept apart from the detector: `build.py` sets some values bare in a
sentence (`SENTENCES`), with no word naming them. For most kinds the value still shows what it
is (a check digit, an issuer range, a phone number grouped as its country groups them). Two
shapes do not, and `evaluate.py` reports every kind both with and without them:

- a US passport number (`A12345678`, `123456789`): no check digit and no structure beyond
  length; Presidio's recogniser gives a bare one a score of 0.05, i.e. none.
- a phone number written as a plain run of digits (`7512166745`, `0241114410`), no `+`, no
  separator: a numbering plan of one of the regions a gateway must serve makes most digit runs
  of that length valid (2147483648 and 4294967295 are valid numbers somewhere), so taking them
  would flag every integer of that size in code and data.

Such an item stays in the corpus and in the first figures; the second figures leave it out.
"""

from __future__ import annotations

import functools
import itertools
import json
import pathlib
import re
from typing import Any

SENTENCES = [
    "Following up on the ticket: the customer confirmed {v} when we spoke this morning.",
    "Row 14 of the export has {v} in the last column; the other rows look fine.",
    "Bitte prüfen Sie den Eintrag {v} vor der Freigabe.",
]

_BARE = [re.compile("^" + re.escape(s).replace(re.escape("{v}"), "(?P<v>.+?)") + "$") for s in SENTENCES]


def bare_value(text: str) -> str | None:
    """The value set in one of `SENTENCES`, or None for any other text."""
    for pattern in _BARE:
        match = pattern.match(text)
        if match:
            return match.group("v")
    return None


def undecidable(item: dict[str, Any]) -> bool:
    """A positive whose value, with nothing naming it, no detector can tell from a number."""
    if item["label"] != "positive" or item["context"] != "bare":
        return False
    value = bare_value(item["text"])
    if value is None:
        return False
    if item["kind"] == "pii.us_passport":
        return True
    return item["kind"] == "pii.phone" and value.isdigit()


# The rule packs' `negative_examples` (eval/secrets/import_rules.py) are text one rule must not
# match, not text free of secrets: many are a real credential in another shape than that rule's
# (a Slack token for the wrong Slack rule, a legacy Vault token, a password literal for a rule
# that wants a username beside it). Such an example is no look-alike; `build.py` leaves out each
# one holding any of these values. What stays is text holding no credential value at all: a
# reference (`$password`, `ENV[...]`, `{3}`), a documented placeholder (`<YOUR_ACCOUNT_KEY>`,
# `xxx`, `a1B2c3D4...`, all zeros), an identifier, a URL or a package digest.
NEGATIVE_EXAMPLES_HOLDING_A_VALUE = [
    'AUTH0_CLIENT_ID="nUBJjeJElAPmpwBjhWgWX6aJYovpK0n5',
    "ded7db27a4558e2ea9bbf0bf36ae0e8521618f366c",
    "6RtqHqPc66Y6DYbkydbrrFJTYnRoA7r40ts7LWS2SkINSFsRABxhJQQJ99BFACAAAAALGcqjAAASAZDO3eq",
    "zpczok4kqgnw5prpfy3ehiylbqvgbjfkdiqkejsxqamy7qbkep7q",
    "KTJlDq2AGGGlqG8riKdT7p980AW8RlU5",
    "ABCDDq2AGxGlqG 4ribBT7p98AOM9TlU8",
    "FHxhQGh77_JAHHIYpZ818UQ0aYjXIdMIxxgeR",
    "8f52d1586bd18a18e152289b00ed7d29",
    "password = 'open_sesame'",
    'password = "123"',
    "super$ecret",
    'new Buffer("feast")',
    "Password=#gets0m3",
    "eyJ0eXAiOiAiVENWMiJ9",
    "Prestigitariu$",
    "d151c7bc86d545dafe2c1de75e3a174623230a2a",
    "2e62dee7b9895e3eede6",
    "JGbZZaCkOSgsZ56uhGlTK2zyC1j2mwhy0VLp4",
    "b.AAAAAQJgxDgqsGNorpoOR8hPZ5SU",
    "Z4bTMtngfLeQ18AqVoBBkUAOD1",
    "iQc.",
    "D1fficultP%40ssw0rd",
    "033f2f2072ca3f2cb2ec39019fa9e49cd640NRAL",
    "007e65c7-635d-4d54-8294-f360cb8e2e3f",
    '"busybox@"',
    "00QCjAl4MlV-WPXM-ABCDEFGHIJKL-0HmjFx-vbGu",
    "user:secret@",
    "password=secret",
    "xoxb-",
    "xoxp-",
    "IgvUabrXbWSihj2ENnA59G1F8",
    "MjuHWoGbzYmJv3ZuHaBvSENfyevu00NQuBc40VM",
    # Titus's: a hex key after a key name, negative for a provider whose format differs
    # (Calendly, Iterable, Keen, DeviantArt's rule read on GitHub's and Stripe's client
    # secrets), and a Slack webhook that is not a workflow webhook.
    "a3b8f29e4d1c6a05",
    "76b08c69cfb27f26d6161f9ab6d061a1",
    "hooks.slack.com/services/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",
]


def holds_a_value(text: str) -> bool:
    """A rule's negative example that still holds a credential value (see above)."""
    return any(value in text for value in NEGATIVE_EXAMPLES_HOLDING_A_VALUE)


# A rule pack's credential example whose value is documentation filler, not a credential: what
# the issue itself lists among look-alikes (placeholders, example values, repeated characters).
# build.py already leaves out examples holding a documented placeholder word; these are shapes
# that list cannot name: RFC 4122's and Wikipedia's example UUIDs (with or without hyphens, last
# digits varied), a value that is one unit repeated (`abcdefabcdef…`, `abcd1234abcd1234…`), or
# characters counted up or down in turn: two in five neighbouring characters, or characters two
# apart, differ by one (`abc123def456…`, `1a2b3c4d…`, `ZYXWVU…`, `0987654321fedcba…`). This is
# the statistic of the detector's own look-alike test (`names.sequential`), restated here so
# the label does not move with the detector. Such an item stays in the corpus and in the first
# figures; the second figures leave it out.
_EXAMPLE_UUIDS = ("123e4567e89b12d3", "987e6543", "550e8400e29b41d4")


def _repeated(value: str) -> bool:
    lowered = "".join(c for c in value.lower() if c.isalnum())
    size = len(lowered)
    return size >= 12 and any(lowered[p:] == lowered[:-p] for p in range(1, size // 3 + 1))


def _counted(value: str) -> bool:
    codes = [ord(c) for c in value.lower() if c.isalnum()]
    if len(codes) < 12:
        return False
    steps = sum(abs(b - a) == 1 for a, b in itertools.pairwise(codes))
    skips = sum(abs(b - a) == 1 for a, b in zip(codes, codes[2:], strict=False))
    return max(steps, skips) * 5 >= len(codes) * 2


def filler_value(value: str) -> bool:
    joined = value.lower().replace("-", "")
    if any(u in joined for u in _EXAMPLE_UUIDS):
        return True
    return _repeated(value) or _counted(value)


_PUBLIC = pathlib.Path(__file__).resolve().parent.parent / "sources" / "public"


@functools.cache
def _patterns(pack: str) -> dict[str, str]:
    doc = json.loads((_PUBLIC / f"secret-rules-{pack}.json").read_text())
    return {rule["rule"]: rule["pattern"] for rule in doc["rules"]}


def captured(item: dict[str, Any]) -> list[str]:
    """What the example's own rule captures in it, as build.py reads it (the whole text if
    Python's `re` cannot say)."""
    pattern = _patterns(item["source"].removeprefix("rules:")).get(item.get("rule", ""))
    try:
        match = re.search(pattern, item["text"]) if pattern else None
    except re.error:
        match = None
    if match is None:
        return [item["text"]]
    return [g for g in match.groups() if g] or [match.group(0)]


def documentation_filler(item: dict[str, Any]) -> bool:
    """A rule pack's credential example whose captured value is filler (see above)."""
    return (
        item["label"] == "positive"
        and item["context"] == "rule-example"
        and any(filler_value(v) for v in captured(item))
    )
