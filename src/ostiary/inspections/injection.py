"""Prompt injection in what flows to the model: tool results, resource reads, prompts, sampling.

A flagged message is handled by the configured action: `block` refuses it
(`injection.blocked`), `quarantine` holds it for a reviewer (`injection.quarantined`), `warn`
passes it with every text block wrapped in an untrusted-data marker (`injection.flagged`).
Tools matched by `allow_tools` (globs on `server/tool` or `tool`) are not scanned.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

from ostiary import methods
from ostiary.config import Config, ConfigError
from ostiary.detection.findings import Report
from ostiary.detection.injection import InjectionDetector, InjectionOptions
from ostiary.detection.payload import UNTRUSTED_CLOSE, UNTRUSTED_OPEN, model_visible, wrap_untrusted
from ostiary.detection.textscan import Extra
from ostiary.detection.walker import Walk
from ostiary.messages import Message
from ostiary.pipeline import ALLOW, Exchange, Inspection, Verdict, deny, hold, modify

BLOCKED = "injection.blocked"
QUARANTINED = "injection.quarantined"
FLAGGED = "injection.flagged"
ACTIONS = ("block", "quarantine", "warn")

# Results that are definitions and handshakes: poisoning and pinning judge those.
_DEFINITIONS = methods.LIST_METHODS | {methods.INITIALIZE, methods.DISCOVER, methods.PING}
# Result keys holding what the model reads as content; wrapped under `warn`.
_CONTENT_KEYS = ("content", "contents", "messages")
# Server->client requests whose text reaches the model or a human, and where it is.
_ASKS = {methods.SAMPLING_CREATE: ("messages",), methods.ELICITATION_CREATE: ("message", "requestedSchema")}
# Notification fields a host shows the model or the user; marked under `warn`.
_SHOWN = ("data", "message")


class InjectionInspection(Inspection):
    """Scans every server->client channel: results (with `_meta`), errors, completions,
    sampling and elicitation requests, and notifications (log messages, progress, the rest)."""

    name = "injection"

    def __init__(
        self, detector: InjectionDetector, action: str = "block", allow_tools: tuple[str, ...] = ()
    ) -> None:
        self.detector = detector
        self.action = action
        self.allow_tools = allow_tools

    def _scan(self, value: Any) -> Report | None:
        """The report when `value` is flagged, or could not be read within the budget (treated
        as flagged: fail closed); None when it is clean."""
        walk = Walk(value, keys=False)
        fields = list(walk)
        report = self.detector.scan_fields(fields, walk.truncated)
        return report if report.flagged or report.truncated else None

    async def on_server_response(self, message: Message, exchange: Exchange) -> Verdict:
        if message.error:
            return self._error(message, exchange)
        if exchange.method in _DEFINITIONS or not message.result or self._exempt(exchange):
            return ALLOW
        walk = model_visible(message.result)
        fields = list(walk)
        report = self.detector.scan_fields(fields, walk.truncated)
        meta = message.result.get("_meta")
        # What could not be read within the budget is treated as flagged: fail closed.
        if not report.flagged and not report.truncated:
            found = self._scan(meta) if meta else None
            if found is None:
                return ALLOW
            report = found
        source = _source(exchange)
        wrapped = {k: _marked_result_field(k, v, source) for k, v in message.result.items()}
        return self._act(report, message.with_result(wrapped))

    def _error(self, message: Message, exchange: Exchange) -> Verdict:
        """A server's error message and data reach the model as surely as a result does."""
        report = self._scan(message.error)
        if report is None:
            return ALLOW
        marked = mark_strings({k: v for k, v in message.error.items() if k != "code"}, _source(exchange))
        return self._act(report, Message({**message.raw, "error": {**message.error, **marked}}, message.kind))

    async def on_server_request(self, message: Message, exchange: Exchange) -> Verdict:
        keys = _ASKS.get(message.method)
        if keys is None:
            return ALLOW
        report = self._scan({k: v for k, v in message.params.items() if k != "_meta"})
        if report is None:
            return ALLOW
        source = _source(exchange)
        params = {
            k: (wrap_untrusted(v, source) if k == "messages" else mark_strings(v, source)) if k in keys else v
            for k, v in message.params.items()
        }
        return self._act(report, message.with_params(params))

    async def on_server_notification(self, message: Message, exchange: Exchange) -> Verdict:
        if not message.params:
            return ALLOW
        report = self._scan(message.params)
        if report is None:
            return ALLOW
        source = _source(exchange)
        params = {k: mark_strings(v, source) if k in _SHOWN else v for k, v in message.params.items()}
        return self._act(report, message.with_params(params))

    def _act(self, report: Report, wrapped: Message) -> Verdict:
        details: dict[str, Any] = {"score": round(report.score, 3), "rules": report.rules}
        if report.truncated:
            details["truncated"] = True
        if self.action == "warn":
            return modify(
                wrapped, FLAGGED, "Possible prompt injection: content marked as untrusted data.", **details
            )
        if self.action == "quarantine":
            return hold(QUARANTINED, "Possible prompt injection held for a reviewer.", **details)
        return deny(BLOCKED, "The content looks like a prompt injection and was blocked.", **details)

    def _exempt(self, exchange: Exchange) -> bool:
        if exchange.target is None or not self.allow_tools:
            return False
        names = (exchange.target, f"{exchange.server}/{exchange.target}")
        return any(fnmatch.fnmatchcase(n, p) for n in names for p in self.allow_tools)


def _marked_result_field(key: str, value: Any, source: str) -> Any:
    """Under `warn`: content blocks wrapped, completion values marked, the rest as it was."""
    if key in _CONTENT_KEYS:
        return wrap_untrusted(value, source)
    if key == "completion":
        return mark_strings(value, source)
    return value


def mark_strings(value: Any, source: str) -> Any:
    """A copy with every string wrapped in the untrusted-data marker: for channels that carry
    plain strings rather than content blocks (log data, progress, errors, completions)."""
    if isinstance(value, str):
        return UNTRUSTED_OPEN.format(source=source) + value + UNTRUSTED_CLOSE
    if isinstance(value, list):
        return [mark_strings(v, source) for v in value]
    if isinstance(value, dict):
        return {k: v if k == "_meta" else mark_strings(v, source) for k, v in value.items()}
    return value


def _source(exchange: Exchange) -> str:
    where = exchange.server or "a server"
    return f"{where} ({exchange.method})"


def build(options: dict[str, Any], config: Config) -> InjectionInspection:
    action = str(options.get("action", "block"))
    if action not in ACTIONS:
        raise ConfigError(
            f"inspections: injection action must be one of {', '.join(ACTIONS)}, not {action!r}"
        )
    threshold = float(options.get("threshold", 0.5))
    allow_tools = tuple(str(p) for p in options.get("allow_tools", ()))
    classifier = _classifier(options.get("classifier"))
    detector = InjectionDetector(InjectionOptions(threshold=threshold), classifier=classifier)
    return InjectionInspection(detector, action, allow_tools)


def _classifier(spec: Any) -> Extra | None:
    """`classifier: {model: PATH, window, stride, max_windows, min_probability}`, loaded at start."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or "model" not in spec:
        raise ConfigError("inspections: injection classifier needs a `model` path")
    from ostiary.detection.ml import ClassifierError, ClassifierOptions, OnnxClassifier  # noqa: PLC0415

    known = {"window", "stride", "max_windows", "min_probability"}
    extra = {k: spec[k] for k in known & set(spec)}
    try:
        return OnnxClassifier(ClassifierOptions(model=Path(str(spec["model"])), **extra)).findings
    except (ClassifierError, TypeError) as exc:
        raise ConfigError(f"inspections: injection classifier: {exc}") from exc
