"""The tamper-evident audit log: one hash-chained record per pipeline decision.

`build_audit_observer(store, config)` is what the gateway wires into the pipeline; `verify`,
search and export are used by `ostiary audit`. The format is documented in docs/audit.md.
"""

from __future__ import annotations

import logging

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
    from ostiary.audit.witness import WitnessError, settings_of, witness_of  # noqa: PLC0415

    try:
        witness = witness_of(settings_of(options, config.store_url(), config.base_dir), config.store_url())
    except WitnessError as exc:
        raise ConfigError(str(exc)) from None
    if witness is None:
        logging.getLogger("ostiary.audit").warning(
            "UNSAFE: the audit witness is off (audit.witness: false); deleted records go unnoticed"
        )
    return AuditLog(
        store,
        sealer_from_config(config),
        options.chain,
        options.batch_max,
        options.spool is not False,
        witness,
        config.name,
    )
