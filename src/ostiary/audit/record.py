"""One audit record per pipeline decision: who, what, to whom, what was decided, and how fast.

Arguments are kept only as a digest plus a redacted copy, results only as a digest. The record
never carries a payload beyond that, and the verdict's reason and details pass the redactor.
"""

from __future__ import annotations

import os
from typing import Any

from ostiary.audit.canonical import digest
from ostiary.audit.redaction import redact, redact_text
from ostiary.messages import Kind
from ostiary.pipeline import Decision, Hook
from ostiary.store import now_us

VERSION = 1
EXCHANGE_NOTE = "audit.exchange"
# Notes other stages leave on the exchange that the record links to.
APPROVAL_NOTE = "approval_id"
PROVENANCE_NOTE = "provenance_id"
REQUEST_HOOKS = (Hook.CLIENT_REQUEST, Hook.SERVER_REQUEST, Hook.CLIENT_NOTIFICATION, Hook.SERVER_NOTIFICATION)


def _arguments(decision: Decision) -> Any:
    params = decision.original.params
    if "arguments" in params:
        return params.get("arguments")
    return {k: v for k, v in params.items() if k != "_meta"} or None


def _exchange_id(decision: Decision) -> str:
    notes = decision.exchange.notes
    found = notes.get(EXCHANGE_NOTE)
    if not isinstance(found, str):
        found = os.urandom(16).hex()  # as random as uuid4, without building a UUID
        notes[EXCHANGE_NOTE] = found
    return found


def record_of(decision: Decision) -> dict[str, Any]:
    exchange = decision.exchange
    message = decision.original
    verdict = decision.verdict
    principal = exchange.principal
    body: dict[str, Any] = {
        "v": VERSION,
        "ts_us": now_us(),
        "hook": decision.hook.value,
        "kind": message.kind.value,
        "method": exchange.method,
        "session": exchange.session_id,
        "exchange": _exchange_id(decision),
        "principal": principal.subject,
        "principal_method": principal.method,
        "client": {k: exchange.client_info[k] for k in ("name", "version") if k in exchange.client_info},
        "protocol": exchange.protocol_version,
        "server": exchange.server,
        "target": redact_text(exchange.target) if exchange.target is not None else None,
        "action": verdict.action.value,
        "code": verdict.code,
        "inspection": verdict.inspection or None,
        "reason": redact_text(verdict.reason) if verdict.reason else None,
        "details": redact(verdict.details) if verdict.details else None,
        "monitored": [
            {"inspection": v.inspection, "action": v.action.value, "code": v.code} for v in decision.monitored
        ],
        "latency_ms": round(decision.elapsed * 1000, 3),
    }
    # The client's id for its request, on the request's record and on its response's alike.
    asked = exchange.request.id if exchange.request is not None else message.id
    if asked is not None:
        body["request_id"] = redact_text(str(asked))
    if decision.hook in REQUEST_HOOKS:
        args = _arguments(decision)
        body["args_digest"] = digest(args)
        body["args"] = redact(args)
    else:
        body["result_digest"] = digest(message.raw.get("result", message.raw.get("error")))
        if message.kind is Kind.ERROR:
            body["error_code"] = message.error.get("code")
        elif message.result.get("isError") is True:
            body["error_code"] = "isError"
    if decision.message is not message and decision.forwarded:
        body["forwarded_digest"] = digest(decision.message.raw)
    links = {
        name: exchange.notes[note]
        for name, note in (("approval", APPROVAL_NOTE), ("provenance", PROVENANCE_NOTE))
        if isinstance(exchange.notes.get(note), (str, int))
    }
    if links:
        body["links"] = links
    return body
