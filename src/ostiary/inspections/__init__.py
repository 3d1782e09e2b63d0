"""Built-in inspections, by the name the configuration's `inspections:` list uses.

To add one: write a module here with an `Inspection` subclass and a `build(options, config)`
factory, and add its name to `FACTORIES`. See ARCHITECTURE.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ostiary.config import Config, ConfigError, InspectionConfig
from ostiary.pipeline import Inspection, Mode, Stage

Factory = Callable[[dict[str, Any], Config], Inspection]

# name -> "module:function"; modules are imported only when configured, to keep start-up fast.
FACTORIES: dict[str, str] = {
    "toolfilter": "ostiary.inspections.toolfilter:build",
    "pinning": "ostiary.inspections.pinning:build",
    "poisoning": "ostiary.inspections.poisoning:build",
    "injection": "ostiary.inspections.injection:build",
    "secrets": "ostiary.inspections.secrets:build",
    "policy": "ostiary.inspections.policy:build",
    "provenance": "ostiary.inspections.provenance:build",
}


def build_stage(spec: InspectionConfig, config: Config) -> Stage:
    target = FACTORIES.get(spec.name)
    if target is None:
        known = ", ".join(sorted(FACTORIES))
        raise ConfigError(f"inspections: unknown inspection {spec.name!r} (known: {known})")
    module_name, _, func = target.partition(":")
    factory: Factory = getattr(importlib.import_module(module_name), func)
    inspection = factory(spec.options, config)
    return Stage(inspection, Mode(spec.mode), spec.timeout)


def build_stages(config: Config) -> list[Stage]:
    return [build_stage(spec, config) for spec in config.inspections]
