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
from ostiary.detection.payload import model_visible, wrap_untrusted
from ostiary.detection.textscan import Extra
from ostiary.messages import Message
from ostiary.pipeline import ALLOW, Exchange, Inspection, Verdict, deny, hold, modify

BLOCKED = "injection.blocked"
QUARANTINED = "injection.quarantined"
FLAGGED = "injection.flagged"
ACTIONS = ("block", "quarantine", "warn")

_RESULTS = frozenset({methods.TOOLS_CALL, methods.RESOURCES_READ, methods.PROMPTS_GET})
# Result keys holding what the model reads as content; wrapped under `warn`.
_CONTENT_KEYS = ("content", "contents", "messages")
# Up to this much text the learned tier runs inline; above it, on the thread pool.
INLINE_CHARS = 8 * 1024


class InjectionInspection(Inspection):
    name = "injection"
    methods = _RESULTS | {methods.SAMPLING_CREATE}

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

    async def _scan(
        self, detector: InjectionDetector, fields: list[tuple[str, str]], truncated: bool
    ) -> Report:
        report, pending = detector.first_pass(fields, truncated)
        if pending is None:
            return report
        if sum(len(text) for _, text in pending) <= INLINE_CHARS:
            # Scoring this little costs less than a hand-off to another thread.
            return detector.second_pass(report, pending)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_pool(), detector.second_pass, report, pending)

    async def on_server_response(self, message: Message, exchange: Exchange) -> Verdict:
        if exchange.method not in _RESULTS or not message.result or self._exempt(exchange):
            return ALLOW
        walk = model_visible(message.result)
        fields = list(walk)
        report = await self._scan(self._detector(exchange), fields, walk.truncated)
        # What could not be read within the budget is treated as flagged: fail closed.
        if not report.flagged and not report.truncated:
            return ALLOW
        wrapped = {
            k: wrap_untrusted(v, _source(exchange)) if k in _CONTENT_KEYS else v
            for k, v in message.result.items()
        }
        return self._act(report, message.with_result(wrapped))

    async def on_server_request(self, message: Message, exchange: Exchange) -> Verdict:
        if message.method != methods.SAMPLING_CREATE:
            return ALLOW
        walk = model_visible(message.params)
        fields = list(walk)
        report = await self._scan(self._detector(exchange), fields, walk.truncated)
        if not report.flagged and not report.truncated:
            return ALLOW
        params = {
            k: wrap_untrusted(v, _source(exchange)) if k == "messages" else v
            for k, v in message.params.items()
        }
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


def _source(exchange: Exchange) -> str:
    where = exchange.server or "a server"
    return f"{where} ({exchange.method})"


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """One small pool per process for the learned tier: numpy releases the GIL in its loops."""
    global _POOL  # noqa: PLW0603
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ostiary-model")
    return _POOL


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
