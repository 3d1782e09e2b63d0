"""Secrets and personal data in tool arguments and in what servers return.

`action: redact` (the default) replaces each finding in place, inside text and structured
content alike, keeping JSON valid (`secrets.redacted`); `action: block` refuses the message
(`secrets.blocked`). `allow` maps tool globs (`server/tool` or `tool`) to rule globs that are
permitted there, e.g. `{"mail/*": ["pii.email"]}`; `kinds` picks `secret`, `pii` or both.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from ostiary import methods
from ostiary.config import Config, ConfigError
from ostiary.detection.findings import Finding
from ostiary.detection.redaction import redact_json
from ostiary.detection.secrets import SecretsDetector, SecretsOptions
from ostiary.messages import Message
from ostiary.pipeline import ALLOW, Exchange, Inspection, Verdict, deny, modify

REDACTED = "secrets.redacted"
TOO_LARGE = "secrets.too_large"
BLOCKED = "secrets.blocked"
ACTIONS = ("redact", "block")


class TooLarge(Exception):
    """The message is larger than the scan budget."""


# What a client request carries toward a server, by method: arguments, and `_meta` beside them.
_SENT = {
    methods.TOOLS_CALL: ("arguments", "_meta"),
    methods.PROMPTS_GET: ("arguments", "_meta"),
    methods.COMPLETE: ("argument", "context", "_meta"),
    methods.RESOURCES_READ: ("_meta",),
}


# Results that are definitions and handshakes, not data: poisoning and pinning judge those.
DEFINITIONS = methods.LIST_METHODS | {methods.INITIALIZE, methods.DISCOVER}


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
    ) -> None:
        self.detector = detector
        self.action = action
        self.allow = allow or {}
        self.arguments = arguments
        self.results = results

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
            findings = self._findings(message.params, exchange, with_meta=True)
        except TooLarge:
            return _too_large()
        if not findings:
            return ALLOW
        if self.action == "block":
            return deny(BLOCKED, "The message contains a secret or personal data.", **_details(findings))
        params = redact_json(message.params, findings)
        return modify(
            message.with_params(params),
            REDACTED,
            "Secrets in the message were redacted.",
            **_details(findings),
        )

    def _request(self, message: Message, exchange: Exchange) -> Verdict:
        keys = _SENT.get(exchange.method)
        if not self.arguments or keys is None:
            return ALLOW
        sent = {k: message.params[k] for k in keys if isinstance(message.params.get(k), dict)}
        if not sent:
            return ALLOW
        findings = self._findings(sent, exchange, with_meta=True)
        if not findings:
            return ALLOW
        if self.action == "block":
            return deny(BLOCKED, "The arguments contain a secret or personal data.", **_details(findings))
        params = {**message.params, **redact_json(sent, findings)}
        return modify(
            message.with_params(params),
            REDACTED,
            "Secrets in the arguments were redacted.",
            **_details(findings),
        )

    def _response(self, message: Message, exchange: Exchange) -> Verdict:
        if not self.results or exchange.method in DEFINITIONS:
            return ALLOW
        if message.error:
            return self._error(message, exchange)
        if not message.result:
            return ALLOW
        findings = self._findings(message.result, exchange, with_meta=True)
        if not findings:
            return ALLOW
        if self.action == "block":
            return deny(BLOCKED, "The result contains a secret or personal data.", **_details(findings))
        result = redact_json(message.result, findings)
        return modify(
            message.with_result(result),
            REDACTED,
            "Secrets in the result were redacted.",
            **_details(findings),
        )

    def _error(self, message: Message, exchange: Exchange) -> Verdict:
        """A server's error message and data reach the client too, and leak keys just as well."""
        findings = self._findings(message.error, exchange)
        if not findings:
            return ALLOW
        if self.action == "block":
            return deny(BLOCKED, "The error contains a secret or personal data.", **_details(findings))
        replacement = Message({**message.raw, "error": redact_json(message.error, findings)}, message.kind)
        return modify(replacement, REDACTED, "Secrets in the error were redacted.", **_details(findings))

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


def _too_large() -> Verdict:
    return deny(TOO_LARGE, "The message is too large to inspect for secrets.")


def _details(findings: list[Finding]) -> dict[str, Any]:
    return {"rules": sorted({f.rule for f in findings}), "count": len(findings)}


def build(options: dict[str, Any], config: Config) -> SecretsInspection:
    action = str(options.get("action", "redact"))
    if action not in ACTIONS:
        raise ConfigError(f"inspections: secrets action must be redact or block, not {action!r}")
    kinds = frozenset(str(k) for k in options.get("kinds", ("secret", "pii")))
    if not kinds <= {"secret", "pii"}:
        raise ConfigError("inspections: secrets kinds must be secret and/or pii")
    raw_allow = options.get("allow", {}) or {}
    if not isinstance(raw_allow, dict):
        raise ConfigError("inspections: secrets allow must map tool globs to lists of rule globs")
    allow = {str(tool): tuple(str(r) for r in rules) for tool, rules in raw_allow.items()}
    detector = SecretsDetector(SecretsOptions(kinds=kinds))
    return SecretsInspection(
        detector,
        action,
        allow,
        arguments=bool(options.get("arguments", True)),
        results=bool(options.get("results", True)),
    )
