"""Policy as code in the pipeline: every call is decided before it reaches a server, and every
list shows each principal only what it could call.

A denial names the rule that decided it (never the arguments); a call that needs approval is
held; a redact rule rewrites the named argument fields. The policy file is watched and swapped
whole, so a change never half-applies.
"""

from __future__ import annotations

import copy
from typing import Any

from ostiary import methods
from ostiary.config import Config, ConfigError
from ostiary.messages import Message
from ostiary.pipeline import ALLOW, Exchange, Inspection, Verdict, deny, hold, modify
from ostiary.policy import CompiledPolicy, Effect, PolicyError, Request
from ostiary.policy.engine import Kind
from ostiary.policy.flow import PROVENANCE_CALL, deciding_facts, flow_facts, misplaced
from ostiary.policy.reload import PolicySource
from ostiary.policy.settings import settings_from
from ostiary.secretref import REDACTED
from ostiary.uris import UriError, canonical_uri

DENIED = "policy.denied"
APPROVAL_REQUIRED = "policy.approval_required"
REDACTED_CODE = "policy.redacted"
FILTERED = "policy.filtered"

_CALLS: dict[str, Kind] = {
    methods.TOOLS_CALL: "tool",
    methods.PROMPTS_GET: "prompt",
    methods.RESOURCES_READ: "resource",
    # Who may not read a resource may not subscribe to it either.
    methods.RESOURCES_SUBSCRIBE: "resource",
    methods.RESOURCES_UNSUBSCRIBE: "resource",
    methods.LOGGING_SET_LEVEL: "method",
}
_COMPLETION_REFS: dict[object, Kind] = {"ref/prompt": "prompt", "ref/resource": "resource"}
# list method -> (result key, kind, the entry's name field)
_LISTS: dict[str, tuple[str, Kind, str]] = {
    methods.TOOLS_LIST: ("tools", "tool", "name"),
    methods.PROMPTS_LIST: ("prompts", "prompt", "name"),
    methods.RESOURCES_LIST: ("resources", "resource", "uri"),
    methods.RESOURCES_TEMPLATES_LIST: ("resourceTemplates", "resource", "uriTemplate"),
}
_SEPARATOR = "__"


class PolicyInspection(Inspection):
    name = "policy"
    # Every method: those Ostiary does not know are judged as `methods:` requests.
    methods = None

    def __init__(self, source: PolicySource, config: Config, watch: bool = True) -> None:
        self.source = source
        self.config = config
        self.watch = watch
        self._prefixes = {config.prefix_of(name): name for name in config.servers}

    def _trusted(self, server: str) -> bool:
        found = self.config.servers.get(server)
        return found is not None and found.trust_annotations

    async def on_client_request(self, message: Message, exchange: Exchange) -> Verdict:
        kind = _CALLS.get(exchange.method)
        if kind is None:
            if exchange.method == methods.COMPLETE:
                ref = message.params.get("ref")
                kind = _COMPLETION_REFS.get(ref.get("type") if isinstance(ref, dict) else None)
            elif exchange.method not in methods.CLIENT_REQUESTS:
                kind = "method"
            else:
                return ALLOW
        if kind is None or exchange.server is None or exchange.target is None:
            return deny(DENIED, "The policy cannot judge a request whose server is unknown.", rule=None)
        arguments = message.params if kind == "method" else message.params.get("arguments")
        args = arguments if isinstance(arguments, dict) else {}
        definition = exchange.definition or {}
        notes = definition.get("annotations")
        request = Request(
            kind=kind,
            server=exchange.server,
            name=exchange.target,
            args=args,
            annotations=notes if isinstance(notes, dict) else {},
            annotations_trusted=self._trusted(exchange.server),
            **flow_facts(exchange.notes.get(PROVENANCE_CALL)),
        )
        decision = self.source.current.evaluate(exchange.principal, request)
        exchange.notes["policy"] = {"rule": decision.rule_id, "effect": decision.effect.value}
        if decision.effect is Effect.ALLOW:
            return ALLOW
        facts = deciding_facts(decision.variables, request)
        if decision.effect is Effect.DENY:
            return deny(DENIED, decision.reason, rule=decision.rule_id, **facts)
        if decision.effect is Effect.APPROVE:
            return hold(APPROVAL_REQUIRED, decision.reason, **self._approval(decision.rule_id), **facts)
        redacted, changed = redact_fields(args, decision.fields)
        if not changed:
            return ALLOW
        params = redacted if kind == "method" else {**message.params, "arguments": redacted}
        return modify(
            message.with_params(params), REDACTED_CODE, decision.reason, rule=decision.rule_id, fields=changed
        )

    def _approval(self, rule_id: str | None) -> dict[str, Any]:
        """What the approval service needs from the rule that asked for approval."""
        found: dict[str, Any] = {"rule": rule_id, "policy_version": self.source.version}
        for rule in self.source.current.document.rules if rule_id is not None else ():
            if rule.id == rule_id:
                found.update(rule_text=rule.description, approvers=list(rule.approvers), expires=rule.expires)
                break
        return found

    async def on_server_response(self, message: Message, exchange: Exchange) -> Verdict:
        spec = _LISTS.get(exchange.method)
        entries = message.result.get(spec[0]) if spec is not None else None
        if spec is None or not isinstance(entries, list):
            return ALLOW
        _, kind, field = spec
        policy = self.source.current
        kept = [e for e in entries if isinstance(e, dict) and self._visible(policy, exchange, kind, e, field)]
        if len(kept) == len(entries):
            return ALLOW
        hidden = len(entries) - len(kept)
        return modify(
            message.with_result({**message.result, spec[0]: kept}),
            FILTERED,
            "Entries this principal may not use were hidden by policy.",
            hidden=hidden,
        )

    def _visible(
        self, policy: CompiledPolicy, exchange: Exchange, kind: Kind, entry: dict[str, Any], field: str
    ) -> bool:
        name = entry.get(field)
        if not isinstance(name, str):
            return False
        if field == "uri":
            # Judged as a read of it would be: in canonical form.
            try:
                name = canonical_uri(name)
            except UriError:
                return False
        notes = entry.get("annotations")
        annotations = notes if isinstance(notes, dict) and kind == "tool" else {}
        for server, target in self._owners(exchange.server, kind, name):
            request = Request(kind, server, target, {}, annotations, self._trusted(server))
            if policy.visible(exchange.principal, request):
                return True
        return False

    def _owners(self, server: str | None, kind: Kind, name: str) -> list[tuple[str, str]]:
        """Which (server, name-at-server) an entry belongs to, also in an aggregated list."""
        if server is not None:
            return [(server, name)]
        if kind != "resource":
            prefix, sep, rest = name.partition(_SEPARATOR)
            if sep and prefix in self._prefixes:
                return [(self._prefixes[prefix], rest)]
            if "" in self._prefixes:
                return [(self._prefixes[""], name)]
            return []
        # Resource URIs are not namespaced: visible if some server's rules could allow it.
        return [(s, name) for s in self.config.servers]

    async def start(self) -> None:
        if self.watch:
            self.source.start()

    async def close(self) -> None:
        await self.source.close()


def redact_fields(args: dict[str, Any], paths: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
    """A copy of `args` with each dotted path's value replaced; the paths that existed."""
    result = copy.deepcopy(args)
    changed: list[str] = []
    for path in paths:
        node: Any = result
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and parts[-1] in node:
            node[parts[-1]] = REDACTED
            changed.append(path)
    return result, changed


def build(options: dict[str, Any], config: Config) -> PolicyInspection:
    settings = settings_from(options, config)
    path = settings.path(config)
    if path is None:
        raise ConfigError("inspections: policy needs 'file' (or a 'policy: {file: …}' section)")
    try:
        source = PolicySource(path, interval=settings.interval)
    except PolicyError as exc:
        raise ConfigError(str(exc)) from None
    problem = misplaced(source.current.document, [spec.name for spec in config.inspections])
    if problem is not None:
        raise ConfigError(f"inspections: {problem}")
    return PolicyInspection(source, config, watch=settings.watch)
