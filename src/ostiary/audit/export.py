"""The JSON Lines export: one audit record per line in a SIEM-friendly shape (see docs/audit.md).

Field names follow the Elastic Common Schema where one fits (`@timestamp`, `event.*`, `user.*`,
`client.*`), so Elastic, Splunk and OpenSearch pipelines map them without custom parsing; the
rest sits under `ostiary.*`. Each line carries the record's sequence number and hash, so an
exported slice can be matched against the verified log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from ostiary.store import AuditRow

SCHEMA = "ostiary.audit/1"
OUTCOMES = {"allow": "success", "modify": "success", "deny": "failure"}


def iso(ts_us: int) -> str:
    moment = dt.datetime.fromtimestamp(ts_us / 1e6, tz=dt.UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def siem_event(row: AuditRow) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(row.body)
    ostiary = {
        key: body[key]
        for key in (
            "hook", "kind", "server", "target", "action", "inspection", "details", "monitored", "args",
            "args_digest", "result_digest", "forwarded_digest", "error_code", "links", "exchange",
            "request_id", "protocol", "approval", "provenance", "noted",
        )
        if body.get(key) is not None
    }  # fmt: skip
    return {
        "schema": SCHEMA,
        "@timestamp": iso(row.ts_us),
        "event": {
            "dataset": "ostiary.audit",
            "sequence": row.seq,
            "action": body.get("method"),
            "outcome": OUTCOMES.get(row.action, "unknown"),
            "code": row.code,
            "reason": body.get("reason"),
            "duration": int(float(body.get("latency_ms") or 0) * 1_000_000),
            "hash": row.hash,
        },
        "user": {"name": body.get("principal"), "authentication": body.get("principal_method")},
        "client": body.get("client") or {},
        "session": {"id": body.get("session")},
        "ostiary": ostiary | {"chain": row.chain, "prev": row.prev},
    }


def jsonl(row: AuditRow) -> bytes:
    return orjson.dumps(siem_event(row)) + b"\n"
