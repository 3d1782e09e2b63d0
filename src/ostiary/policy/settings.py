"""The `policy:` section of the configuration: where the policy file is and how it is watched.

The section and the policy inspection's options are typed records in config.py (`PolicyConfig`,
`PolicyOptions`), checked when the configuration is loaded; here the options are laid over the
section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ostiary.config import Config, ConfigError, PolicyConfig


def settings_from(options: dict[str, Any], config: Config) -> PolicySettings:
    """The inspection's options, falling back to the configuration's `policy:` section."""
    merged = {**config.policy.changed(), **{k: v for k, v in options.items() if v is not None}}
    try:
        return PolicySettings.validate(merged)
    except ValueError as exc:  # pydantic's ValidationError, when the record's own check could not vouch
        errors = getattr(exc, "errors", None)
        if errors is None:
            raise
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors())
        raise ConfigError(f"policy: {problems}") from None


class PolicySettings(PolicyConfig):
    def path(self, config: Config) -> Path | None:
        """The policy file; relative paths are resolved from the configuration's directory."""
        if self.file is None:
            return None
        path = Path(self.file).expanduser()
        return path if path.is_absolute() else Path(config.base_dir) / path
