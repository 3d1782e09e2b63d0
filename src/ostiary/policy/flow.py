"""Flow facts in policy: what the provenance stage left on a call, as the variables `session`,
`args_from` and `labels` of a rule's condition, and the facts that decided, for the record.

The provenance stage (inspections/provenance.py) runs before the policy stage and leaves its
facts in the exchange's notes; without it these variables are absent and a condition that reads
them fails, which never grants and always restricts (see engine.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ostiary.policy.conditions import FLOW_VARIABLES
from ostiary.policy.model import PolicyDocument

PROVENANCE_CALL = "provenance.call"


def flow_facts(note: Any) -> dict[str, Any]:
    """Request fields from the provenance stage's note on a call (none when there is no note)."""
    if not isinstance(note, Mapping):
        return {}
    return {
        "session": note.get("session"),
        "args_from": note.get("args_from"),
        "labels": note.get("labels"),
    }


def deciding_facts(variables: frozenset[str], request: Any) -> dict[str, Any]:
    """`{"facts": {...}}` with the flow facts the deciding rule's condition read, else nothing."""
    used = [name for name in FLOW_VARIABLES if name in variables]
    if not used:
        return {}
    return {"facts": {name: getattr(request, name, None) for name in used}}


_MENTION = re.compile(rf"\b(?:{'|'.join(FLOW_VARIABLES)})\b")


def flow_rules(document: PolicyDocument) -> list[str]:
    """The ids of the rules whose condition reads a flow variable."""
    return [rule.id for rule in document.rules if rule.labels or (rule.when and _MENTION.search(rule.when))]


def misplaced(document: PolicyDocument, stages: Sequence[str]) -> str | None:
    """Why flow rules cannot work with these inspections in this order, or None if they can."""
    rules = flow_rules(document)
    if not rules or "policy" not in stages:
        return None
    if "provenance" not in stages[: stages.index("policy")]:
        return (
            f"policy rule {rules[0]!r} uses flow facts (labels, session, args_from): "
            "put the 'provenance' inspection before 'policy' in inspections"
        )
    return None
