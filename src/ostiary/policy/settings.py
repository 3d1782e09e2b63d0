"""The `policy:` section of the configuration: where the policy file is and how it is watched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ostiary.config import Config, ConfigError


class PolicySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The policy file; relative paths are resolved from the configuration's directory.
    file: str | None = None
    # Reload the file when it changes (a bad file keeps the last good policy in force).
    watch: bool = True
    interval: float = Field(default=1.0, gt=0, le=3600)

    def path(self, config: Config) -> Path | None:
        if self.file is None:
            return None
        path = Path(self.file).expanduser()
        return path if path.is_absolute() else Path(config.base_dir) / path


def settings_from(options: dict[str, Any], config: Config) -> PolicySettings:
    """The inspection's options, falling back to the configuration's `policy:` section."""
    merged = {**config.policy.changed(), **{k: v for k, v in options.items() if v is not None}}
    try:
        return PolicySettings.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"policy: {problems}") from None
