"""The `detectors:` configuration section: the learned tier's switch and thresholds per server.

    detectors:
      model: auto            # auto: use the shipped model when present; on: require it; off
      injection:
        threshold: 0.5       # rules' score at or above which a result is flagged
        model_threshold: fpr1   # a probability, or a named operating point (fpr1, fpr2)
        servers:             # per server, either key may be overridden
          web: {model_threshold: fpr2}
      poisoning:
        threshold: 0.5
        model_threshold: fpr1

Unknown keys are errors: a misspelt threshold must not silently leave the default in force.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

from ostiary.config import ConfigError
from ostiary.detection import modelfile

MODES = ("auto", "on", "off")
KINDS = ("injection", "poisoning")
DEFAULT_OPERATING_POINT = "fpr1"


@dataclass(frozen=True, slots=True)
class Thresholds:
    threshold: float = 0.5
    model_threshold: str | float = DEFAULT_OPERATING_POINT


@dataclass(frozen=True, slots=True)
class KindSettings:
    default: Thresholds = field(default_factory=Thresholds)
    servers: dict[str, Thresholds] = field(default_factory=dict)

    def of(self, server: str | None) -> Thresholds:
        return self.servers.get(server or "", self.default)


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    model: str = "auto"
    injection: KindSettings = field(default_factory=KindSettings)
    poisoning: KindSettings = field(default_factory=KindSettings)

    def kind(self, kind: str) -> KindSettings:
        return self.injection if kind == "injection" else self.poisoning


def _thresholds(raw: Any, where: str, base: Thresholds) -> Thresholds:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping")
    unknown = set(raw) - {"threshold", "model_threshold"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    threshold = raw.get("threshold", base.threshold)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise ConfigError(f"{where}.threshold: a number in (0, 1]")
    point = raw.get("model_threshold", base.model_threshold)
    if isinstance(point, bool) or not (
        (isinstance(point, (int, float)) and 0 < point <= 1)
        or (isinstance(point, str) and point.startswith("fpr"))
    ):
        raise ConfigError(
            f"{where}.model_threshold: a probability in (0, 1] or an operating point (fpr1, fpr2)"
        )
    return Thresholds(float(threshold), point if isinstance(point, str) else float(point))


def _kind(raw: Any, where: str, base: Thresholds) -> KindSettings:
    if raw is None:
        return KindSettings(base)
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping")
    unknown = set(raw) - {"threshold", "model_threshold", "servers"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    default = _thresholds({k: v for k, v in raw.items() if k != "servers"}, where, base)
    servers_raw = raw.get("servers") or {}
    if not isinstance(servers_raw, dict):
        raise ConfigError(f"{where}.servers: expected a mapping of server name to thresholds")
    servers = {
        str(name): _thresholds(v, f"{where}.servers.{name}", default) for name, v in servers_raw.items()
    }
    return KindSettings(default, servers)


def parse(raw: Any, base_threshold: float = 0.5) -> DetectorSettings:
    """Validate the `detectors:` section; `base_threshold` is an inspection's own `threshold`."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError("detectors: expected a mapping")
    unknown = set(raw) - {"model", *KINDS}
    if unknown:
        raise ConfigError(f"detectors: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    mode = raw.get("model", "auto")
    if mode is False:  # YAML reads a bare `off` as false
        mode = "off"
    if mode is True:
        mode = "on"
    if mode not in MODES:
        raise ConfigError(f"detectors.model: one of {', '.join(MODES)}, not {mode!r}")
    base = Thresholds(base_threshold)
    return DetectorSettings(
        mode,
        _kind(raw.get("injection"), "detectors.injection", base),
        _kind(raw.get("poisoning"), "detectors.poisoning", base),
    )


def model_for(kind: str, mode: str) -> modelfile.LazyModel | None:
    """The shipped model for `kind` under `detectors.model`: auto uses it when it is there.

    The file is read and checked here, at start-up; numpy and the model's array come with the
    first text it scores (`modelfile.LazyModel`)."""
    if mode == "off":
        return None
    path = modelfile.shipped(kind)
    has_numpy = importlib.util.find_spec("numpy") is not None
    if mode == "auto" and (not path.is_file() or not has_numpy):
        return None
    try:
        file = modelfile.read(path)
    except modelfile.ModelError as exc:
        raise ConfigError(f"detectors.model: {exc}") from exc
    if not has_numpy:
        raise ConfigError("detectors.model: on needs numpy (pip install numpy)")
    return modelfile.LazyModel(file)


def model_threshold(model: modelfile.LazyModel | None, spec: str | float, where: str) -> float:
    if model is None:
        return 0.5
    try:
        return model.threshold(spec)
    except modelfile.ModelError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
