"""One audit record per pipeline decision: who, what, to whom, what was decided, and how fast.

Arguments are kept only as a digest plus a redacted copy, results only as a digest. The record
never carries a payload beyond that, and the verdict's reason and details pass the redactor.
"""

from __future__ import annotations

import enum
import itertools
import os
from typing import Any

from ostiary.audit.canonical import digest
from ostiary.audit.redaction import redact, redact_text
from ostiary.messages import Kind
from ostiary.pipeline import Action, Decision, Exchange, Hook
from ostiary.store import now_us

VERSION = 1
# What every record of one exchange shares, its id among them (see _exchange_fields).
FIELDS_NOTE = "audit.fields"
# Notes other stages leave on the exchange that the record links to.
APPROVAL_NOTE = "approval_id"
PROVENANCE_NOTE = "provenance_id"
# What the provenance stage says of a call (its echoes, the session's facts) and of a result.
PROVENANCE_CALL_NOTE = "provenance.call"
PROVENANCE_RESULT_NOTE = "provenance.result"
_PROVENANCE_NOTES = {Hook.CLIENT_REQUEST: PROVENANCE_CALL_NOTE, Hook.SERVER_RESPONSE: PROVENANCE_RESULT_NOTE}
REQUEST_HOOKS = (Hook.CLIENT_REQUEST, Hook.SERVER_REQUEST, Hook.CLIENT_NOTIFICATION, Hook.SERVER_NOTIFICATION)
# Enum values by member: `.value` is a descriptor call in Python 3.11, three per record.
_VALUES: dict[enum.Enum, str] = {member: member.value for e in (Hook, Kind, Action) for member in e}


def _arguments(decision: Decision) -> Any:
    params = decision.original.params
    if "arguments" in params:
        return params.get("arguments")
    return {k: v for k, v in params.items() if k != "_meta"} or None


def _masked(args: Any, decision: Decision) -> Any:
    """The arguments with every span a stage reported as a finding (`details.findings`: a JSON
    Pointer `path` into the arguments and a `span`) replaced by its rule, before the audit's own
    redactor runs: what a detector found is never kept, even where that redactor would not know
    it (a personal-data finding that was only warned about, a provider token it has no pattern for)."""
    spans: dict[str, list[tuple[int, int, str]]] = {}
    for verdict in decision.verdicts:
        found = verdict.details.get("findings") if verdict.details else None
        for finding in found if isinstance(found, list) else ():
            if not isinstance(finding, dict):
                continue
            path, span, rule = finding.get("path"), finding.get("span"), finding.get("rule")
            if isinstance(path, str) and isinstance(span, list) and len(span) == 2 and isinstance(rule, str):
                spans.setdefault(path, []).append((int(span[0]), int(span[1]), rule))
    if not spans or not isinstance(args, dict | list):
        return args
    prefixes = {""}
    for found_at in spans:
        step = found_at
        while step and step not in prefixes:
            prefixes.add(step)
            step = step.rsplit("/", 1)[0]
    return _mask(args, "", spans, prefixes)


def _mask(value: Any, path: str, spans: dict[str, list[tuple[int, int, str]]], prefixes: set[str]) -> Any:
    if path not in prefixes:
        return value
    if isinstance(value, str):
        out, cursor = [], 0
        for start, end, rule in sorted(spans.get(path, ())):
            if start >= cursor and end <= len(value):
                out.append(value[cursor:start] + f"[REDACTED:{rule}]")
                cursor = end
        return "".join(out) + value[cursor:]
    if isinstance(value, dict):
        return {k: _mask(v, f"{path}/{_escape(str(k))}", spans, prefixes) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, f"{path}/{i}", spans, prefixes) for i, v in enumerate(value)]
    return value


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


# Exchange ids: this process's random prefix and a counter. As unique as a random id per exchange
# (64 random bits tell gateways apart; the counter, exchanges within one), for a fraction of the
# cost of drawing 16 bytes from the kernel per call.
_PREFIX = os.urandom(8).hex()
_SERIAL = itertools.count(1)


def _exchange_fields(exchange: Exchange) -> dict[str, Any]:
    """The fields every record of one exchange shares, built (and redacted) once per exchange:
    a call's request and its response are two records of the same who, where and what."""
    found = exchange.notes.get(FIELDS_NOTE)
    if found is not None:
        return found  # type: ignore[no-any-return]
    principal = exchange.principal
    info = exchange.client_info
    fields: dict[str, Any] = {
        "method": exchange.method,
        "session": exchange.session_id,
        "exchange": f"{_PREFIX}{next(_SERIAL):016x}",
        "principal": principal.subject,
        "principal_method": principal.method,
        "client": {k: info[k] for k in ("name", "version") if k in info} if info else {},
        "protocol": exchange.protocol_version,
        "server": exchange.server,
        "target": redact_text(exchange.target) if exchange.target is not None else None,
    }
    if exchange.request is not None and exchange.request.id is not None:
        # The client's id for its request, on the request's record and on its response's alike.
        fields["request_id"] = redact_text(str(exchange.request.id))
    exchange.notes[FIELDS_NOTE] = fields
    return fields


def _earlier_findings(decision: Decision) -> list[dict[str, Any]]:
    """What enforcing stages said before the deciding one (an injection warning on a result that
    secrets then redacted): each kept, so that every stage's code can be searched for."""
    monitored = {id(v) for v in decision.monitored}
    return [
        {
            "inspection": v.inspection,
            "action": _VALUES[v.action],
            "code": v.code,
            "details": redact(v.details) if v.details else None,
        }
        for v in decision.verdicts
        if v is not decision.verdict and id(v) not in monitored
    ]


def _provenance(note: dict[str, Any]) -> dict[str, Any]:
    """The provenance stage's note, redacted. Its only strings from payloads are the echoes'
    fragments and tool names; the rest are configured names, labels, codes and Ostiary's own ids,
    so only those pass the redactor (a whole-note pass costs more than the rest of the record)."""
    echoes = note.get("echoes")
    if not echoes:
        return note
    return {
        **note,
        "echoes": [
            {
                **e,
                "fragment": redact_text(str(e.get("fragment"))),
                "tool": redact_text(e["tool"]) if isinstance(e.get("tool"), str) else None,
            }
            for e in echoes
        ],
    }


def record_of(decision: Decision) -> dict[str, Any]:
    exchange = decision.exchange
    message = decision.original
    verdict = decision.verdict
    body: dict[str, Any] = {
        "v": VERSION,
        "ts_us": now_us(),
        "hook": _VALUES[decision.hook],
        "kind": _VALUES[message.kind],
        **_exchange_fields(exchange),
        "action": _VALUES[verdict.action],
        "code": verdict.code,
        "inspection": verdict.inspection or None,
        "reason": redact_text(verdict.reason) if verdict.reason else None,
        "details": redact(verdict.details) if verdict.details else None,
        "monitored": [
            {"inspection": v.inspection, "action": v.action.value, "code": v.code} for v in decision.monitored
        ]
        if decision.monitored
        else [],
        "latency_ms": round(decision.elapsed * 1000, 3),
    }
    if len(decision.verdicts) > 1 or (decision.verdicts and decision.verdicts[0] is not verdict):
        findings = _earlier_findings(decision)
        if findings:
            body["findings"] = findings
    noted = [v for v in decision.verdicts if v.is_allow and v.code != "allow"]
    if noted:
        # A stage that let the message pass but had something to say (`secrets.warned`).
        body["noted"] = [
            {"inspection": v.inspection, "code": v.code, "details": redact(v.details) if v.details else None}
            for v in noted
        ]
    if exchange.request is None and message.id is not None:
        body["request_id"] = redact_text(str(message.id))
    if decision.hook in REQUEST_HOOKS:
        args = _arguments(decision)
        body["args_digest"] = digest(args)
        body["args"] = redact(_masked(args, decision))
    else:
        body["result_digest"] = digest(message.raw.get("result", message.raw.get("error")))
        if message.kind is Kind.ERROR:
            body["error_code"] = message.error.get("code")
        elif message.result.get("isError") is True:
            body["error_code"] = "isError"
    if decision.message is not message and decision.forwarded:
        body["forwarded_digest"] = digest(decision.message.raw)
    notes = exchange.notes
    provenance = notes.get(_PROVENANCE_NOTES.get(decision.hook, ""))
    if provenance is not None:
        body["provenance"] = _provenance(provenance)
    if APPROVAL_NOTE in notes or PROVENANCE_NOTE in notes:
        links = {
            name: notes[note]
            for name, note in (("approval", APPROVAL_NOTE), ("provenance", PROVENANCE_NOTE))
            if isinstance(notes.get(note), (str, int))
        }
        if links:
            body["links"] = links
    return body
