"""A compiled policy: which rule decides a request, and why, in microseconds for most calls.

Rules are indexed by (kind, server, name) so that a call looks only at the handful of rules that
can concern it; the candidate list per target is cached, and CEL conditions (the slow part) are
evaluated only for rules whose principal, server, name and annotations already match. When
several rules match, the most restrictive effect wins, then file order. A compiled policy is
immutable: reloading builds a new one and swaps it whole.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ostiary.boundedcache import BoundedCache
from ostiary.identity import Principal
from ostiary.policy.conditions import (
    FLOW_VARIABLES,
    Condition,
    ConditionError,
    compile_condition,
    new_environment,
    to_cel,
)
from ostiary.policy.model import PRECEDENCE, Effect, PolicyDocument, Rule

Kind = Literal["tool", "prompt", "resource", "method"]
_KIND_FIELD: dict[str, str] = {
    "tool": "tools",
    "prompt": "prompts",
    "resource": "resources",
    "method": "methods",
}
# Methods judged as "method" requests that Ostiary knows: they default like a read-only request.
KNOWN_METHODS = frozenset({"logging/setLevel"})
_GLOB = re.compile(r"[*?\[]")
_CACHE_LIMIT = 8192


@dataclass(frozen=True, slots=True)
class Request:
    """The facts about one call that a policy may judge."""

    kind: Kind
    server: str
    # The tool or prompt name as the server knows it, or the resource URI.
    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    annotations: Mapping[str, Any] = field(default_factory=dict)
    # Whether this server's annotations may be relied on (ServerConfig.trust_annotations).
    annotations_trusted: bool = False
    # Flow facts from the provenance stage (docs/provenance.md); None when it did not run, so a
    # condition that uses them fails, and fails closed.
    session: Mapping[str, Any] | None = None
    args_from: Mapping[str, Any] | None = None
    labels: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    effect: Effect
    # The deciding rule's id; None when no rule matched and a default decided.
    rule_id: str | None
    reason: str
    # For redact: the argument paths to replace.
    fields: tuple[str, ...] = ()
    # The variables the deciding rule's condition reads (to show the facts that decided).
    variables: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Step:
    rule_id: str
    effect: Effect
    # matched, or why not: principal, annotations, read_only, condition false, condition error
    outcome: str


@dataclass(frozen=True, slots=True)
class Explanation:
    decision: PolicyDecision
    read_only: bool
    steps: tuple[Step, ...]


def _matcher(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or r"(?!)")


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    order: int
    rank: tuple[int, int]
    servers: re.Pattern[str] | None
    names: dict[str, re.Pattern[str]]  # kind -> names; empty: every kind, every name
    subjects: re.Pattern[str]
    groups: frozenset[str]
    clients: frozenset[str]
    condition: Condition | None

    def targets(self, kind: str, server: str, name: str) -> bool:
        if self.servers is not None and not self.servers.fullmatch(server):
            return False
        if not self.names:
            return True
        pattern = self.names.get(kind)
        return pattern is not None and pattern.fullmatch(name) is not None

    def concerns(self, principal: Principal) -> bool:
        if self.rule.principals.anyone:
            return True
        return (
            self.subjects.fullmatch(principal.subject) is not None
            or not self.groups.isdisjoint(principal.groups)
            or (principal.client_id is not None and principal.client_id in self.clients)
        )


class CompiledPolicy:
    def __init__(self, document: PolicyDocument, source: str = "<policy>") -> None:
        self.document = document
        self.source = source
        environment = new_environment() if any(rule.when is not None for rule in document.rules) else None
        shared: dict[str, Condition] = {}
        self._rules = [self._compile(rule, i, environment, shared) for i, rule in enumerate(document.rules)]
        self._exact: dict[tuple[str, str, str], list[_Compiled]] = {}
        self._generic: list[_Compiled] = []
        for compiled in self._rules:
            keys = self._exact_keys(compiled.rule)
            if keys is None:
                self._generic.append(compiled)
            for key in keys or ():
                self._exact.setdefault(key, []).append(compiled)
        self._read_only = {server: _matcher(globs) for server, globs in document.read_only.tools.items()}
        self._candidates: BoundedCache[tuple[str, str, str], tuple[_Compiled, ...]] = BoundedCache(
            _CACHE_LIMIT
        )

    @staticmethod
    def _compile(rule: Rule, order: int, environment: Any, shared: dict[str, Condition]) -> _Compiled:
        names = {
            kind: _matcher(patterns)
            for kind, attr in _KIND_FIELD.items()
            if (patterns := getattr(rule, attr)) is not None
        }
        condition = None
        if rule.when is not None:
            condition = shared.get(rule.when)
            if condition is None:
                try:
                    condition = shared[rule.when] = compile_condition(environment, rule.when)
                except ConditionError as exc:
                    raise ConditionError(str(exc), rule_index=order) from None
        return _Compiled(
            rule=rule,
            order=order,
            rank=(PRECEDENCE[rule.effect], order),
            servers=_matcher(rule.servers) if rule.servers else None,
            names=names,
            subjects=_matcher(rule.principals.subjects),
            groups=frozenset(rule.principals.groups),
            clients=frozenset(rule.principals.clients),
            condition=condition,
        )

    @staticmethod
    def _exact_keys(rule: Rule) -> list[tuple[str, str, str]] | None:
        """The (kind, server, name) keys of a rule without globs; None if it needs a scan."""
        if not rule.servers or any(_GLOB.search(s) for s in rule.servers):
            return None
        listed = [(kind, getattr(rule, attr)) for kind, attr in _KIND_FIELD.items()]
        if all(names is None for _, names in listed):
            return None
        keys: list[tuple[str, str, str]] = []
        for kind, names in listed:
            for name in names or ():
                if _GLOB.search(name):
                    return None
                keys.extend((kind, server, name) for server in rule.servers)
        return keys

    def _candidates_for(self, request: Request) -> tuple[_Compiled, ...]:
        key = (request.kind, request.server, request.name)
        found = self._candidates.get(key)
        if found is None:
            exact = self._exact.get(key, [])
            generic = [r for r in self._generic if r.targets(*key)]
            found = tuple(sorted(exact + generic, key=lambda r: r.rank))
            self._candidates.put(key, found)
        return found

    def is_read_only(self, request: Request) -> bool:
        """Prompts and resources only read; a tool only when the operator or a trusted server says so."""
        if request.kind != "tool":
            return True
        declared = self._read_only.get(request.server)
        if declared is not None and declared.fullmatch(request.name):
            return True
        notes = request.annotations
        return request.annotations_trusted and notes.get("readOnlyHint") is True

    # ------------------------------------------------------------------ deciding

    def evaluate(self, principal: Principal, request: Request) -> PolicyDecision:
        for step, compiled in self._walk(principal, request):
            if step is None:
                return self._decided_by(compiled)
        return self._default(request)

    def explain(self, principal: Principal, request: Request) -> Explanation:
        steps: list[Step] = []
        decision: PolicyDecision | None = None
        for step, compiled in self._walk(principal, request, everything=True):
            rule = compiled.rule
            steps.append(step or Step(rule.id, rule.effect, "matched"))
            if step is None and decision is None:
                decision = self._decided_by(compiled)
        return Explanation(decision or self._default(request), self.is_read_only(request), tuple(steps))

    def visible(self, principal: Principal, request: Request) -> bool:
        """Whether the principal could be allowed (or asked to approve) some call of this target.

        Used to filter lists before the arguments are known: a conditional rule might apply, so
        only an unconditional denial (or a default denial with nothing that could allow) hides.
        """
        read_only = self.is_read_only(request)
        for compiled in self._candidates_for(request):
            if self._mismatch(compiled, principal, request, read_only) is not None:
                continue
            if compiled.rule.effect is Effect.DENY:
                # Labels are known per call only, so a labelled rule is as good as conditional here.
                if compiled.condition is None and not compiled.rule.labels:
                    return False
                continue
            return True
        return self._default(request).effect is not Effect.DENY

    def _walk(
        self, principal: Principal, request: Request, everything: bool = False
    ) -> Iterator[tuple[Step | None, _Compiled]]:
        """Yield (None, rule) for each rule that applies, (Step, rule) for each that does not."""
        read_only = self.is_read_only(request)
        activation: dict[str, Any] = {}
        for compiled in self._candidates_for(request):
            rule = compiled.rule
            why = self._mismatch(compiled, principal, request, read_only)
            if why is None and compiled.condition is not None:
                _fill(activation, compiled.condition.variables, principal, request)
                holds = compiled.condition.holds(activation)
                if holds is None:
                    # Fail closed: an erroring condition never grants, and always restricts.
                    restrictive = rule.effect in (Effect.DENY, Effect.APPROVE)
                    why = None if restrictive else "condition error"
                elif not holds:
                    why = "condition false"
            if why is None:
                yield None, compiled
                if not everything:
                    return
            elif everything:
                yield Step(rule.id, rule.effect, why), compiled

    @staticmethod
    def _mismatch(compiled: _Compiled, principal: Principal, request: Request, read_only: bool) -> str | None:
        rule = compiled.rule
        if not compiled.concerns(principal):
            return "principal"
        if rule.read_only is not None and rule.read_only != read_only:
            return "read_only"
        if rule.labels:
            # Without the provenance stage's labels a restrictive rule applies (fail closed) and a
            # granting one does not.
            known = request.labels
            if known is None:
                if rule.effect not in (Effect.DENY, Effect.APPROVE):
                    return "labels"
            elif any(known.get(k) != v for k, v in rule.labels.items()):
                return "labels"
        if rule.annotations:
            granting = rule.effect in (Effect.ALLOW, Effect.REDACT)
            seen = request.annotations if (request.annotations_trusted or not granting) else {}
            if any(seen.get(k) != v for k, v in rule.annotations.items()):
                return "annotations"
        return None

    @staticmethod
    def _decided_by(compiled: _Compiled) -> PolicyDecision:
        rule = compiled.rule
        verb = {
            Effect.ALLOW: "Allowed",
            Effect.DENY: "Denied",
            Effect.APPROVE: "Needs approval",
            Effect.REDACT: "Allowed with redaction",
        }[rule.effect]
        reason = f"{verb} by policy rule '{rule.id}'" + (f": {rule.description}" if rule.description else ".")
        variables = compiled.condition.variables if compiled.condition is not None else frozenset()
        if rule.labels:
            variables |= {"labels"}
        return PolicyDecision(rule.effect, rule.id, reason, tuple(rule.fields), variables)

    def _default(self, request: Request) -> PolicyDecision:
        defaults = self.document.defaults
        if request.kind == "method" and request.name not in KNOWN_METHODS:
            effect = defaults.unknown_methods
            reason = (
                f"No policy rule matched; the default for methods Ostiary does not know is {effect.value}."
            )
            return PolicyDecision(effect, None, reason)
        if self.is_read_only(request):
            effect = defaults.read_only
            reason = f"No policy rule matched; the default for read-only requests is {effect.value}."
        else:
            effect = defaults.other
            reason = (
                f"No policy rule matched; the default for tools not known to be read-only is {effect.value}."
            )
        return PolicyDecision(effect, None, reason)


def _fill(activation: dict[str, Any], names: frozenset[str], principal: Principal, request: Request) -> None:
    """Convert to CEL, once per call, only the variables a condition mentions."""
    for name in names:
        if name in activation:
            continue
        if name == "args":
            activation[name] = to_cel(dict(request.args))
        elif name == "principal":
            activation[name] = to_cel(
                {
                    "subject": principal.subject,
                    "groups": sorted(principal.groups),
                    "client_id": principal.client_id or "",
                    "method": principal.method,
                    "scopes": sorted(principal.scopes),
                    # The token's claims (JWT principals), for attribute rules such as a department.
                    "claims": _json_only(principal.claims),
                }
            )
        elif name == "tool":
            activation[name] = to_cel({"name": request.name, "kind": request.kind})
        elif name == "server":
            activation[name] = to_cel(request.server)
        elif name in FLOW_VARIABLES:
            flow = getattr(request, name)
            if flow is not None:
                activation[name] = to_cel(dict(flow))
        else:
            # Only annotations that may be relied on: an untrusted server's hints never grant.
            trusted = request.annotations if request.annotations_trusted else {}
            activation[name] = to_cel(dict(trusted))


def _json_only(value: Any) -> Any:
    """Claims as plain JSON values (anything else dropped), so CEL conversion cannot fail."""
    if isinstance(value, dict):
        return {str(k): _json_only(v) for k, v in value.items() if _is_json(v)}
    if isinstance(value, list):
        return [_json_only(v) for v in value if _is_json(v)]
    return value


def _is_json(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, list, dict))
