"""What an inspection says about a message: allow, deny, modify or hold, with a stable code.

The code is a dotted name (`policy.denied`, `secrets.redacted`) that tests, metrics and the audit
log key on; the reason is one human sentence that must never echo the payload it judged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ostiary.messages import Message


class Action(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    MODIFY = "modify"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    code: str = "allow"
    reason: str = ""
    replacement: Message | None = None
    # Structured, payload-free facts for the audit record (rule ids, finding kinds, scores).
    details: dict[str, Any] = field(default_factory=dict)
    inspection: str = ""

    @property
    def is_allow(self) -> bool:
        return self.action is Action.ALLOW


ALLOW = Verdict(Action.ALLOW)


def allow(code: str = "allow", reason: str = "", **details: Any) -> Verdict:
    if not details and code == "allow" and not reason:
        return ALLOW
    return Verdict(Action.ALLOW, code, reason, details=details)


def deny(code: str, reason: str, **details: Any) -> Verdict:
    return Verdict(Action.DENY, code, reason, details=details)


def modify(replacement: Message, code: str, reason: str, **details: Any) -> Verdict:
    return Verdict(Action.MODIFY, code, reason, replacement, details=details)


def hold(code: str, reason: str, **details: Any) -> Verdict:
    return Verdict(Action.HOLD, code, reason, details=details)
