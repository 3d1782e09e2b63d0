"""The policy file's shape: rules a team reviews like code, validated before anything is compiled.

A rule says who (principals), where (servers), what (tools, prompts, resources), and under which
condition (a CEL expression over the arguments) an effect applies. Nothing here evaluates anything;
see `engine.py` for that.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import Any, ClassVar

from ostiary.configrecord import Record, field

RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


class Effect(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    # Require a human's approval: the pipeline holds the call.
    APPROVE = "approve"
    # Allow, with the named argument fields replaced before the call reaches the server.
    REDACT = "redact"


# When several rules match, the most restrictive effect decides (then file order): an allow can
# never override a deny written elsewhere in the file.
PRECEDENCE: dict[Effect, int] = {Effect.DENY: 0, Effect.APPROVE: 1, Effect.REDACT: 2, Effect.ALLOW: 3}


class Principals(Record):
    """Who a rule is about. A rule applies when any listed subject, group or client matches."""

    subjects: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)

    @property
    def anyone(self) -> bool:
        return not (self.subjects or self.groups or self.clients)


def _rule_id(value: str) -> None:
    if not RULE_ID.match(value):
        raise ValueError("rule id must be letters, digits, '_', '.', ':' or '-', up to 128")


def _known_labels(value: dict[str, bool | str]) -> None:
    unknown = sorted(set(value) - {"trust", "data", "egress"})
    if unknown:
        raise ValueError(f"unknown label {unknown[0]!r} (labels are trust, data and egress)")


class Rule(Record):
    FIELD_CHECKS: ClassVar[dict[str, Callable[[Any], None]]] = {"id": _rule_id, "labels": _known_labels}

    id: str
    effect: Effect
    description: str = ""
    principals: Principals = field(default_factory=Principals)
    # Server names as configured; globs allowed. Empty: every server.
    servers: list[str] = field(default_factory=list)
    # Names as the server knows them (globs allowed). A rule naming none of the four applies to
    # every tool, prompt, resource and method; naming some, only to those kinds.
    tools: list[str] | None = None
    prompts: list[str] | None = None
    # Resource URIs (globs allowed): an allowlist when the effect is allow.
    resources: list[str] | None = None
    # Methods Ostiary does not know (globs), and `logging/setLevel`: what may pass to the server.
    methods: list[str] | None = None
    # Tool annotations that must all be equal. For allow and redact they are read only from
    # servers whose annotations are trusted; from other servers they are hints, never grants.
    annotations: dict[str, bool | str | int | float] = field(default_factory=dict)
    # Provenance labels of the called tool that must all be equal (`egress: true`): matched before
    # the condition, so a flow rule costs CEL only on the calls it is about (docs/provenance.md).
    labels: dict[str, bool | str] = field(default_factory=dict)
    # True: only tools the operator (or a trusted server) declares read-only; False: only others.
    read_only: bool | None = None
    # A CEL expression over args, principal, tool, server and annotations; compiled at load.
    when: str | None = None
    # For redact: dotted paths inside the arguments whose values are replaced.
    fields: list[str] = field(default_factory=list)
    # For approve: who may approve (subjects, `group:…`, `scope:…`, or `self`: the requester), and
    # seconds until the request expires. Unset: the `approvals:` section's defaults.
    approvers: list[str] = field(default_factory=list)
    expires: float | None = field(default=None, metadata={"gt": 0})

    def check(self) -> None:
        if self.effect is Effect.REDACT and not self.fields:
            raise ValueError("a redact rule needs 'fields' (argument paths to redact)")
        if self.effect is not Effect.REDACT and self.fields:
            raise ValueError("'fields' is only meaningful on a redact rule")
        if self.effect is not Effect.APPROVE and (self.approvers or self.expires is not None):
            raise ValueError("'approvers' and 'expires' are only meaningful on an approve rule")


def _no_redact(value: Effect) -> None:
    if value is Effect.REDACT:
        raise ValueError("a default cannot be 'redact' (it has no fields)")


class Defaults(Record):
    """What happens when no rule matches."""

    FIELD_CHECKS: ClassVar[dict[str, Callable[[Any], None]]] = {
        "read_only": _no_redact,
        "other": _no_redact,
        "unknown_methods": _no_redact,
    }

    # Tools declared read-only (by the policy, or by a server whose annotations are trusted),
    # and prompts and resources, which only read.
    read_only: Effect = Effect.ALLOW
    # Every other tool: its risk is unknown or destructive, so it is denied unless a rule allows.
    other: Effect = Effect.DENY
    # Methods Ostiary does not know (`tools/execute`): they reach a server only when a rule or
    # this default allows it, so a new protocol method is a decision, not a side door.
    unknown_methods: Effect = Effect.DENY


class ReadOnly(Record):
    """The operator's word on which tools only read: `server: [tool globs]`."""

    tools: dict[str, list[str]] = field(default_factory=dict)


def _version(value: int) -> None:
    if value != 1:
        raise ValueError("only policy version 1 is known")


class PolicyDocument(Record):
    FIELD_CHECKS: ClassVar[dict[str, Callable[[Any], None]]] = {"version": _version}

    version: int = 1
    defaults: Defaults = field(default_factory=Defaults)
    read_only: ReadOnly = field(default_factory=ReadOnly)
    rules: list[Rule] = field(default_factory=list)

    def check(self) -> None:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
