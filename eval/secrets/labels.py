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
