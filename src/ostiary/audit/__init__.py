"""The tamper-evident audit log: one hash-chained record per pipeline decision.

`build_audit_observer(store, config)` is what the gateway wires into the pipeline; `verify`,
search and export are used by `ostiary audit`. The format is documented in docs/audit.md.
"""

from __future__ import annotations

from ostiary.audit.log import CHAIN, AuditLog
from ostiary.audit.seal import AuditKeyError, HmacSealer, sealer_from_config
from ostiary.audit.verify import Problem, Report, verify
from ostiary.config import Config, ConfigError
from ostiary.store import Store

__all__ = [
    "CHAIN",
    "AuditKeyError",
    "AuditLog",
    "HmacSealer",
    "Problem",
    "Report",
    "build_audit_observer",
    "sealer_from_config",
    "verify",
]


def build_audit_observer(store: Store, config: Config) -> AuditLog:
    """The audit observer for the pipeline; call `await start()` before traffic, `close()` after."""
    options = config.audit
    spool = options.get("spool", True)
    if not isinstance(spool, bool):
        raise ConfigError(f"audit.spool must be true or false, not {spool!r}")
    return AuditLog(
        store,
        sealer_from_config(config),
        str(options.get("chain", CHAIN)),
        int(options.get("batch_max", 1000)),
        spool,
        config.name,
    )
