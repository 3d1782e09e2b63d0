"""Secrets and personal data in tool arguments and in what servers return, with a policy per kind.

Every finding has a rule id that names its kind (`secret.<provider rule>` for credentials,
`pii.<category>` for personal data) and a confidence. `actions` maps rule globs to what
happens, per direction: `redact` (replace the value in place, keeping JSON and structured
results valid), `block` (refuse the message), `warn` (pass it, recorded) or `allow`. So a team
can block credentials leaving while redacting personal data coming back.

Arguments are different from results: redacting an argument changes what the tool does (a
file written with `[REDACTED:…]` in it, reported as a success). So arguments are blocked by
default, with a tool result the model can read (which argument, which kind, how to proceed),
and an argument is redacted only for the tools named in `redact_arguments`. Results default
to `action` (redact). Every finding acted on, with its path, rule, span and action (never its
value), is in the verdict's details and so in the audit record. `allow` maps tool globs to rule
globs permitted there, e.g. `{"mail/*": ["pii.email"]}`; `kinds` picks `secret`, `pii` or both.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ostiary import methods
from ostiary.config import Config, ConfigError
from ostiary.detection.findings import Finding
from ostiary.detection.payload import without_request_state
from ostiary.detection.redaction import redact_json
from ostiary.detection.secrets import SecretsDetector, SecretsOptions
from ostiary.messages import Message
from ostiary.pipeline import ALLOW, Exchange, Inspection, Verdict, allow, deny, modify

REDACTED = "secrets.redacted"
TOO_LARGE = "secrets.too_large"
BLOCKED = "secrets.blocked"
WARNED = "secrets.warned"
ACTIONS = ("redact", "block", "warn", "allow")
DIRECTIONS = ("arguments", "results")
# The details name at most this many findings; `count` still counts them all.
_LISTED = 32
# Under this key a denial carries the tool result the client gets instead of an error.
TOOL_RESULT = "tool_result"


# What a client request carries toward a server, by method: arguments, and `_meta` beside them.
_SENT = {
    methods.TOOLS_CALL: ("arguments", "_meta"),
    methods.PROMPTS_GET: ("arguments", "_meta"),
    methods.COMPLETE: ("argument", "context", "_meta"),
    methods.RESOURCES_READ: ("_meta",),
}


# Results that are definitions and handshakes, not data: poisoning and pinning judge those.
DEFINITIONS = methods.LIST_METHODS | {methods.INITIALIZE, methods.DISCOVER}


class TooLarge(Exception):
    """The message is larger than the scan budget."""


@dataclass(frozen=True, slots=True)
class KindAction:
    """What happens to findings of rules matching `rules` (a glob), per direction."""

    rules: str
    arguments: str
    results: str


class SecretsInspection(Inspection):
    """Client->server: arguments and `_meta` of calls, prompts and completions. Server->client:
    every result (with `_meta`) and error, every server request and notification."""

    name = "secrets"

    def __init__(
        self,
        detector: SecretsDetector,
        action: str = "redact",
        allow: dict[str, tuple[str, ...]] | None = None,
        arguments: bool = True,
        results: bool = True,
        actions: tuple[KindAction, ...] = (),
        redact_arguments: tuple[str, ...] = (),
    ) -> None:
        self.detector = detector
        self.action = action
        self.allow = allow or {}
        self.arguments = arguments
        self.results = results
        self.actions = actions
        self.redact_arguments = redact_arguments

    async def on_client_request(self, message: Message, exchange: Exchange) -> Verdict:
        try:
            return self._request(message, exchange)
        except TooLarge:
            return _too_large()

    async def on_server_response(self, message: Message, exchange: Exchange) -> Verdict:
        try:
            return self._response(message, exchange)
        except TooLarge:
            return _too_large()

    async def on_server_notification(self, message: Message, exchange: Exchange) -> Verdict:
        return self._sent_to_client(message, exchange)

    async def on_server_request(self, message: Message, exchange: Exchange) -> Verdict:
        return self._sent_to_client(message, exchange)

    def _sent_to_client(self, message: Message, exchange: Exchange) -> Verdict:
        """A log line, a progress message, an elicitation's question: all reach the user."""
        if not self.results or not message.params:
            return ALLOW
        try:
            acted = self._acted(self._findings(message.params, exchange, with_meta=True), "results", exchange)
        except TooLarge:
            return _too_large()
        return _toward_client(
            acted, "message", lambda found: message.with_params(redact_json(message.params, found))
        )

    def action_for(self, rule: str, direction: str, exchange: Exchange) -> str:
        """The configured action for a rule in a direction: the first matching `actions` entry,
        else the default (block for arguments, `action` for results). Redacting an argument
        needs the tool in `redact_arguments`; elsewhere it is a block."""
        chosen = next(
            (getattr(entry, direction) for entry in self.actions if fnmatch.fnmatchcase(rule, entry.rules)),
            "block" if direction == "arguments" else self.action,
        )
        if (
            direction == "arguments"
            and chosen == "redact"
            and not self._matches(self.redact_arguments, exchange)
        ):
            return "block"
        return str(chosen)

    def _request(self, message: Message, exchange: Exchange) -> Verdict:
        keys = _SENT.get(exchange.method)
        if not self.arguments or keys is None:
            return ALLOW
        # Each part scanned on its own, so that a finding's path in `arguments` is a path in the
        # arguments: the audit record masks the arguments it keeps by those paths.
        parts = [(k, message.params[k]) for k in keys if isinstance(message.params.get(k), dict)]
        found = [
            (key, self._acted(self._findings(value, exchange), "arguments", exchange)) for key, value in parts
        ]
        acted = [
            (f if key == "arguments" else replace(f, path=f"/{key}{f.path}"), action)
            for key, pairs in found
            for f, action in pairs
        ]
        if not acted:
            return ALLOW
        blocked = [f for f, action in acted if action == "block"]
        details = _details(acted)
        if blocked:
            if exchange.method == methods.TOOLS_CALL:
                text = _blocked_arguments_text(blocked)
                details[TOOL_RESULT] = {"content": [{"type": "text", "text": text}], "isError": True}
            return deny(BLOCKED, "The arguments contain a secret or personal data.", **details)
        if not any(action == "redact" for _, action in acted):
            return allow(WARNED, "The arguments contain a secret or personal data.", **details)
        params = dict(message.params)
        for (key, value), (_, pairs) in zip(parts, found, strict=True):
            redacted = [f for f, action in pairs if action == "redact"]
            if redacted:
                params[key] = redact_json(value, redacted)
        return modify(
            message.with_params(params), REDACTED, "Secrets in the arguments were redacted.", **details
        )

    def _response(self, message: Message, exchange: Exchange) -> Verdict:
        if not self.results or exchange.method in DEFINITIONS:
            return ALLOW
        if message.error:
            return self._error(message, exchange)
        if not message.result:
            return ALLOW
        scanned = without_request_state(message.result)
        acted = self._acted(self._findings(scanned, exchange, with_meta=True), "results", exchange)
        return _toward_client(
            acted, "result", lambda found: message.with_result(redact_json(message.result, found))
        )

    def _error(self, message: Message, exchange: Exchange) -> Verdict:
        """A server's error message and data reach the client too, and leak keys just as well."""
        acted = self._acted(self._findings(message.error, exchange), "results", exchange)
        return _toward_client(
            acted,
            "error",
            lambda found: Message({**message.raw, "error": redact_json(message.error, found)}, message.kind),
        )

    def _acted(
        self, findings: list[Finding], direction: str, exchange: Exchange
    ) -> list[tuple[Finding, str]]:
        acted = ((f, self.action_for(f.rule, direction, exchange)) for f in findings)
        return [(f, action) for f, action in acted if action != "allow"]

    def _findings(self, value: dict[str, Any], exchange: Exchange, with_meta: bool = False) -> list[Finding]:
        report = self.detector.scan_json(
            value if with_meta else {k: v for k, v in value.items() if k != "_meta"}
        )
        if report.truncated:
            # Beyond the budget nothing was read, so nothing could be redacted: fail closed.
            raise TooLarge
        permitted = self._permitted(exchange)
        if not permitted:
            return report.findings
        return [f for f in report.findings if not any(fnmatch.fnmatchcase(f.rule, p) for p in permitted)]

    def _permitted(self, exchange: Exchange) -> tuple[str, ...]:
        if exchange.target is None:
            return ()
        names = (exchange.target, f"{exchange.server}/{exchange.target}")
        return tuple(
            rule
            for tool, rules in self.allow.items()
            if any(fnmatch.fnmatchcase(n, tool) for n in names)
            for rule in rules
        )

    @staticmethod
    def _matches(globs: tuple[str, ...], exchange: Exchange) -> bool:
        if exchange.target is None or not globs:
            return False
        names = (exchange.target, f"{exchange.server}/{exchange.target}")
        return any(fnmatch.fnmatchcase(n, glob) for glob in globs for n in names)


def _toward_client(
    acted: list[tuple[Finding, str]], what: str, redacted: Callable[[list[Finding]], Message]
) -> Verdict:
    """The verdict on what a server sends toward the client (`what`: result, error, message):
    blocked if any finding blocks, else its redactable findings redacted, else passed and noted."""
    if not acted:
        return ALLOW
    details = _details(acted)
    if any(action == "block" for _, action in acted):
        return deny(BLOCKED, f"The {what} contains a secret or personal data.", **details)
    found = [f for f, action in acted if action == "redact"]
    if not found:
        return allow(WARNED, f"The {what} contains a secret or personal data.", **details)
    return modify(redacted(found), REDACTED, f"Secrets in the {what} were redacted.", **details)


def _too_large() -> Verdict:
    return deny(TOO_LARGE, "The message is too large to inspect for secrets.")


def _kind(rule: str) -> str:
    return "credential" if rule.startswith("secret.") else "personal data"


def _details(acted: list[tuple[Finding, str]]) -> dict[str, Any]:
    """Payload-free facts for the audit record: which rule, where, how sure, what was done."""
    return {
        "rules": sorted({f.rule for f, _ in acted}),
        "count": len(acted),
        "findings": [
            {
                "rule": f.rule,
                "kind": _kind(f.rule),
                "confidence": round(f.weight, 2),
                "path": f.path,
                "span": [f.start, f.end],
                "action": action,
            }
            for f, action in acted[:_LISTED]
        ],
    }


def _blocked_arguments_text(blocked: list[Finding]) -> str:
    """What the model reads instead of the tool's result: enough to change course, no value."""
    places = sorted({(f.path or "/", _kind(f.rule), f.rule) for f in blocked})
    listed = "; ".join(f"argument {path} holds {kind} ({rule})" for path, kind, rule in places[:8])
    return (
        f"Ostiary did not send this call to the tool: {listed}. "
        "Credentials and personal data are not passed to tools in arguments. "
        "Call the tool again without the value (refer to it indirectly, e.g. by the name of an "
        "environment variable or a file the tool can read), or ask the user to allow this rule "
        "for this tool in the gateway's configuration."
    )


def _choice(value: Any, where: str) -> str:
    action = str(value)
    if action not in ACTIONS:
        raise ConfigError(f"inspections: secrets {where} must be one of {', '.join(ACTIONS)}, not {action!r}")
    return action


def _actions(raw: Any, default_results: str) -> tuple[KindAction, ...]:
    if not isinstance(raw, dict):
        raise ConfigError(
            "inspections: secrets actions must map rule globs to an action or {arguments, results}"
        )
    entries = []
    for rules, spec in raw.items():
        if isinstance(spec, dict):
            unknown = set(spec) - set(DIRECTIONS)
            if unknown:
                raise ConfigError(f"inspections: secrets actions {rules!r}: unknown keys {sorted(unknown)}")
            arguments = _choice(spec.get("arguments", "block"), f"actions {rules!r} arguments")
            results = _choice(spec.get("results", default_results), f"actions {rules!r} results")
        else:
            arguments = results = _choice(spec, f"actions {rules!r}")
        entries.append(KindAction(str(rules), arguments, results))
    return tuple(entries)


def build(options: dict[str, Any], config: Config) -> SecretsInspection:
    action = str(options.get("action", "redact"))
    if action not in ACTIONS:
        raise ConfigError(f"inspections: secrets action must be one of {', '.join(ACTIONS)}, not {action!r}")
    kinds = frozenset(str(k) for k in options.get("kinds", ("secret", "pii")))
    if not kinds <= {"secret", "pii"}:
        raise ConfigError("inspections: secrets kinds must be secret and/or pii")
    raw_allow = options.get("allow", {}) or {}
    if not isinstance(raw_allow, dict):
        raise ConfigError("inspections: secrets allow must map tool globs to lists of rule globs")
    allow_rules = {str(tool): tuple(str(r) for r in rules) for tool, rules in raw_allow.items()}
    raw_redact = options.get("redact_arguments", ()) or ()
    if not isinstance(raw_redact, list | tuple):
        raise ConfigError("inspections: secrets redact_arguments must be a list of tool globs")
    detector = SecretsDetector(SecretsOptions(kinds=kinds))
    return SecretsInspection(
        detector,
        action,
        allow_rules,
        arguments=bool(options.get("arguments", True)),
        results=bool(options.get("results", True)),
        actions=_actions(options.get("actions", {}) or {}, action),
        redact_arguments=tuple(str(t) for t in raw_redact),
    )
