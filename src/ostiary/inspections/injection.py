"""Prompt injection in what flows to the model: tool results, resource reads, prompts, sampling.

A flagged message is handled by the configured action: `block` refuses it
(`injection.blocked`), `quarantine` holds it for a reviewer (`injection.quarantined`), `warn`
passes it with every text block wrapped in an untrusted-data marker (`injection.flagged`).
Tools matched by `allow_tools` (globs on `server/tool` or `tool`) are not scanned.

The rules run inline; the learned tier (`detectors.model`), which reads what the rules neither
flag nor clear, runs on a small thread pool so the event loop keeps serving other calls while a
large result is scored. Thresholds may differ per server (`detectors.injection.servers`).
"""

from __future__ import annotations

import asyncio
import fnmatch
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ostiary import methods
from ostiary.config import Config, ConfigError
from ostiary.detection import settings
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
# Up to this much text the learned tier runs inline; above it, on the thread pool.
INLINE_CHARS = 8 * 1024


class InjectionInspection(Inspection):
    """Scans every server->client channel: results (with `_meta`), errors, completions,
    sampling and elicitation requests, and notifications (log messages, progress, the rest)."""

    name = "injection"

    def __init__(
        self,
        detector: InjectionDetector,
        action: str = "block",
        allow_tools: tuple[str, ...] = (),
        per_server: dict[str, InjectionDetector] | None = None,
    ) -> None:
        self.detector = detector
        self.action = action
        self.allow_tools = allow_tools
        self.per_server = per_server or {}

    def _detector(self, exchange: Exchange) -> InjectionDetector:
        return self.per_server.get(exchange.server or "", self.detector)

    async def _scan(self, fields: list[tuple[str, str]], truncated: bool, exchange: Exchange) -> Report:
        detector = self._detector(exchange)
        report, pending = detector.first_pass(fields, truncated, exchange.tools, _own(exchange))
        if pending is None:
            return report
        if sum(len(text) for _, text in pending) <= INLINE_CHARS:
            # Scoring this little costs less than a hand-off to another thread.
            return detector.second_pass(report, pending, exchange.tools)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_pool(), detector.second_pass, report, pending, exchange.tools)

    async def _flagged(self, value: Any, exchange: Exchange) -> Report | None:
        """The report when `value` is flagged, or could not be read within the budget (treated
        as flagged: fail closed); None when it is clean."""
        walk = Walk(value, keys=False)
        report = await self._scan(list(walk), walk.truncated, exchange)
        return report if report.flagged or report.truncated else None

    async def on_server_response(self, message: Message, exchange: Exchange) -> Verdict:
        if message.error:
            return await self._error(message, exchange)
        if exchange.method in _DEFINITIONS or not message.result or self._exempt(exchange):
            return ALLOW
        walk = model_visible(message.result)
        fields = list(walk)
        report = await self._scan(fields, walk.truncated, exchange)
        meta = message.result.get("_meta")
        # What could not be read within the budget is treated as flagged: fail closed.
        if not report.flagged and not report.truncated:
            found = await self._flagged(meta, exchange) if meta else None
            if found is None:
                return ALLOW
            report = found
        source = _source(exchange)
        wrapped = {k: _marked_result_field(k, v, source) for k, v in message.result.items()}
        return self._act(report, message.with_result(wrapped))

    async def _error(self, message: Message, exchange: Exchange) -> Verdict:
        """A server's error message and data reach the model as surely as a result does."""
        report = await self._flagged(message.error, exchange)
        if report is None:
            return ALLOW
        marked = mark_strings({k: v for k, v in message.error.items() if k != "code"}, _source(exchange))
        return self._act(report, Message({**message.raw, "error": {**message.error, **marked}}, message.kind))

    async def on_server_request(self, message: Message, exchange: Exchange) -> Verdict:
        keys = _ASKS.get(message.method)
        if keys is None:
            return ALLOW
        report = await self._flagged({k: v for k, v in message.params.items() if k != "_meta"}, exchange)
        if report is None:
            return ALLOW
        source = _source(exchange)
        params = {k: _marked_ask_field(k, v, source) if k in keys else v for k, v in message.params.items()}
        return self._act(report, message.with_params(params))

    async def on_server_notification(self, message: Message, exchange: Exchange) -> Verdict:
        if not message.params:
            return ALLOW
        report = await self._flagged(message.params, exchange)
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


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """One small pool per process for the learned tier: numpy releases the GIL in its loops."""
    global _POOL  # noqa: PLW0603
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ostiary-model")
    return _POOL


def _marked_result_field(key: str, value: Any, source: str) -> Any:
    """Under `warn`: content blocks wrapped, completion values marked, the rest as it was."""
    if key in _CONTENT_KEYS:
        return wrap_untrusted(value, source)
    if key == "completion":
        return mark_strings(value, source)
    return value


def _marked_ask_field(key: str, value: Any, source: str) -> Any:
    """Under `warn`: a sampling request's messages wrapped; in an elicitation's schema only the
    texts a person reads (titles, descriptions), so the schema stays a valid schema."""
    if key == "messages":
        return wrap_untrusted(value, source)
    if key == "requestedSchema":
        return _marked_schema(value, source)
    return mark_strings(value, source)


def _marked_schema(value: Any, source: str) -> Any:
    if isinstance(value, list):
        return [_marked_schema(v, source) for v in value]
    if not isinstance(value, dict):
        return value
    return {
        k: mark_strings(v, source)
        if k in ("title", "description") and isinstance(v, str)
        else _marked_schema(v, source)
        for k, v in value.items()
    }


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
    chosen = settings.parse(config.detectors, threshold)
    model = settings.model_for("injection", chosen.model)

    def detector(t: settings.Thresholds, where: str) -> InjectionDetector:
        cut = settings.model_threshold(model, t.model_threshold, where)
        return InjectionDetector(InjectionOptions(t.threshold, cut), classifier=classifier, model=model)

    kind = chosen.injection
    per_server = {
        name: detector(t, f"detectors.injection.servers.{name}") for name, t in kind.servers.items()
    }
    return InjectionInspection(detector(kind.default, "detectors.injection"), action, allow_tools, per_server)


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


def _own(exchange: Exchange) -> frozenset[str]:
    """The names of the tool whose result this is, as its server and as the client know it."""
    if exchange.method != methods.TOOLS_CALL:
        return frozenset()
    names = {exchange.target} if exchange.target else set()
    called = exchange.request.params.get("name") if exchange.request is not None else None
    if isinstance(called, str):
        names.add(called)
    return frozenset(names)
