"""Poisoned tool, prompt and resource definitions, hidden before the model reads them.

Every definition in a list result and the server's handshake instructions are scanned. A flagged
definition is removed from the list (`poisoning.hidden`) and remembered per server, so a call to
it made anyway is refused (`poisoning.blocked`); flagged instructions are removed from the
handshake (`poisoning.instructions_removed`). With `action: warn` nothing is changed and the
findings are recorded as an allow with code `poisoning.flagged`.
"""

from __future__ import annotations

from typing import Any

from ostiary import methods
from ostiary.boundedcache import BoundedCache
from ostiary.config import Config, ConfigError
from ostiary.detection import settings
from ostiary.detection.findings import Report
from ostiary.detection.poisoning import PoisoningDetector, PoisoningOptions
from ostiary.messages import Message
from ostiary.pipeline import ALLOW, Exchange, Inspection, Verdict, allow, deny, modify

HIDDEN = "poisoning.hidden"
BLOCKED = "poisoning.blocked"
INSTRUCTIONS_REMOVED = "poisoning.instructions_removed"
FLAGGED = "poisoning.flagged"

# List method -> (result key, the field naming an entry, the request that uses an entry).
_LISTS = {
    methods.TOOLS_LIST: ("tools", "name", methods.TOOLS_CALL),
    methods.PROMPTS_LIST: ("prompts", "name", methods.PROMPTS_GET),
    methods.RESOURCES_LIST: ("resources", "uri", methods.RESOURCES_READ),
    methods.RESOURCES_TEMPLATES_LIST: ("resourceTemplates", "uriTemplate", methods.RESOURCES_READ),
}
_HANDSHAKES = frozenset({methods.INITIALIZE, methods.DISCOVER})
# Calls reuse the report on their definition while the session's catalog holds the same
# definition object (a new list brings new objects, scanned again): a tool's definition is
# scanned once, not on every call. Bounded, as the tools named are the servers'.
REMEMBERED_DEFINITIONS = 4096
_USES = frozenset({methods.TOOLS_CALL, methods.PROMPTS_GET, methods.RESOURCES_READ})


def _summary(reports: list[Report]) -> dict[str, Any]:
    return {
        "rules": sorted({rule for r in reports for rule in r.rules}),
        "score": round(max((r.score for r in reports), default=0.0), 3),
    }


class PoisoningInspection(Inspection):
    name = "poisoning"
    methods = frozenset(_LISTS) | _HANDSHAKES | _USES

    def __init__(
        self,
        detector: PoisoningDetector,
        enforce: bool = True,
        per_server: dict[str, PoisoningDetector] | None = None,
    ) -> None:
        self.detector = detector
        self.enforce = enforce
        self.per_server = per_server or {}
        # (server, request method) -> names of definitions found poisoned in that server's lists.
        self._flagged: dict[tuple[str | None, str], set[str]] = {}
        # (server, request method, name) -> the definition last scanned at a call, and its report.
        self._scanned: BoundedCache[tuple[str | None, str, str | None], tuple[dict[str, Any], Report]] = (
            BoundedCache(REMEMBERED_DEFINITIONS)
        )

    async def on_server_response(self, message: Message, exchange: Exchange) -> Verdict:
        if exchange.method in _HANDSHAKES:
            return self._instructions(message, exchange)
        listing = _LISTS.get(exchange.method)
        if listing is None:
            return ALLOW
        key, id_field, use = listing
        entries = message.result.get(key)
        if not isinstance(entries, list):
            return ALLOW
        kept: list[Any] = []
        hidden: list[str] = []
        reports: list[Report] = []
        remembered = self._flagged.setdefault((exchange.server, use), set())
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                kept.append(entry)
                continue
            report = self._detector(exchange).scan_definition(entry, f"/{key}/{index}")
            ident = str(entry.get(id_field, ""))
            if report.flagged:
                hidden.append(ident)
                reports.append(report)
                remembered.add(ident)
            else:
                remembered.discard(ident)
                kept.append(entry)
        if not hidden:
            return ALLOW
        if not self.enforce:
            return allow(
                FLAGGED,
                "Definitions look poisoned; left visible by configuration.",
                flagged=hidden,
                **_summary(reports),
            )
        return modify(
            message.with_result({**message.result, key: kept}),
            HIDDEN,
            "Definitions that carry instructions for the model were hidden.",
            hidden=hidden,
            **_summary(reports),
        )

    def _detector(self, exchange: Exchange) -> PoisoningDetector:
        return self.per_server.get(exchange.server or "", self.detector)

    def _instructions(self, message: Message, exchange: Exchange) -> Verdict:
        text = message.result.get("instructions")
        if not isinstance(text, str) or not text:
            return ALLOW
        report = self._detector(exchange).scan_instructions(text)
        if not report.flagged:
            return ALLOW
        if not self.enforce:
            return allow(
                FLAGGED,
                "Server instructions look poisoned; left as sent by configuration.",
                **_summary([report]),
            )
        result = {k: v for k, v in message.result.items() if k != "instructions"}
        return modify(
            message.with_result(result),
            INSTRUCTIONS_REMOVED,
            "Server instructions that carry suspicious directives were removed.",
            **_summary([report]),
        )

    async def on_client_request(self, message: Message, exchange: Exchange) -> Verdict:
        if exchange.method not in _USES or exchange.target is None:
            return ALLOW
        if exchange.definition is not None:
            report = self._definition_report(exchange, exchange.definition)
            if report.flagged:
                return self._refuse(_summary([report]))
        if exchange.target in self._flagged.get((exchange.server, exchange.method), ()):
            return self._refuse({})
        return ALLOW

    def _definition_report(self, exchange: Exchange, definition: dict[str, Any]) -> Report:
        key = (exchange.server, exchange.method, exchange.target)
        seen = self._scanned.get(key)
        if seen is not None and seen[0] is definition:
            return seen[1]
        report = self._detector(exchange).scan_definition(definition)
        self._scanned.put(key, (definition, report))
        return report

    def _refuse(self, details: dict[str, Any]) -> Verdict:
        if not self.enforce:
            return allow(FLAGGED, "This definition looks poisoned; allowed by configuration.", **details)
        return deny(
            BLOCKED, "This tool's definition carries instructions for the model and is blocked.", **details
        )


def build(options: dict[str, Any], config: Config) -> PoisoningInspection:
    action = str(options.get("action", "block"))
    if action not in {"block", "warn"}:
        raise ConfigError(f"inspections: poisoning action must be block or warn, not {action!r}")
    threshold = float(options.get("threshold", 0.5))
    chosen = settings.parse(config.detectors, threshold)
    model = settings.model_for("poisoning", chosen.model)

    def detector(t: settings.Thresholds, where: str) -> PoisoningDetector:
        cut = settings.model_threshold(model, t.model_threshold, where)
        return PoisoningDetector(PoisoningOptions(threshold=t.threshold, model_threshold=cut), model=model)

    kind = chosen.poisoning
    per_server = {
        name: detector(t, f"detectors.poisoning.servers.{name}") for name, t in kind.servers.items()
    }
    return PoisoningInspection(
        detector(kind.default, "detectors.poisoning"), enforce=action == "block", per_server=per_server
    )
