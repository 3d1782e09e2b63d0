"""The chain behind one recorded call, read back from the audit log: the call, the fragments of
its arguments that came from earlier results, those results with their labels and findings, and
everything else the session had read before it.

Only the audit log is read, so a trace can be drawn long after the session ended, by anyone who
may read the log; it is as complete as the records are (see docs/provenance.md, "Limits").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ostiary.store import AuditQuery, AuditRow, Store


@dataclass(slots=True)
class Chain:
    call: dict[str, Any]
    echoes: list[dict[str, Any]] = field(default_factory=list)
    # Every result, resource read and prompt of the session before the call, oldest first.
    read_before: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"call": self.call, "echoes": self.echoes, "read_before": self.read_before}


class TraceError(Exception):
    """The record cannot be traced; the message says why."""


async def find_record(store: Store, chain: str, seq: int) -> AuditRow | None:
    async for row in store.audit_rows(chain):
        if row.seq == seq:
            return row
        if row.seq > seq:
            return None
    return None


def _summary(row: AuditRow, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "ts_us": row.ts_us,
        "session": body.get("session"),
        "principal": body.get("principal"),
        "server": body.get("server"),
        "target": body.get("target"),
        "method": body.get("method"),
        "action": body.get("action"),
        "code": body.get("code"),
    }


async def trace(store: Store, chain: str, seq: int) -> Chain:
    row = await find_record(store, chain, seq)
    if row is None:
        raise TraceError(f"no record {seq} in the audit log")
    body = json.loads(row.body)
    if body.get("hook") != "on_client_request":
        raise TraceError(f"record {seq} is not a client's request (it is {body.get('hook')})")
    provenance = body.get("provenance")
    if not isinstance(provenance, dict):
        raise TraceError(f"record {seq} has no provenance (was the provenance inspection on?)")
    call = {
        **_summary(row, body),
        "args": body.get("args"),
        "details": body.get("details"),
        "labels": provenance.get("labels"),
        "facts": provenance.get("session"),
    }
    result = Chain(call)
    since = provenance.get("since_us")
    reads: dict[str, dict[str, Any]] = {}
    if isinstance(since, int):
        query = AuditQuery(since_us=since, until_us=row.ts_us + 1)
        async for earlier in store.audit_rows(chain, query):
            if earlier.seq >= row.seq:
                break
            found = json.loads(earlier.body)
            if found.get("session") != body.get("session") or found.get("hook") != "on_server_response":
                continue
            read = found.get("provenance")
            if isinstance(read, dict) and isinstance(read.get("id"), str):
                reads[read["id"]] = {**_summary(earlier, found), **read}
    result.read_before = list(reads.values())
    for echo in provenance.get("echoes") or ():
        if isinstance(echo, dict):
            source = reads.get(str(echo.get("id")))
            result.echoes.append(
                {
                    "kind": echo.get("kind"),
                    "fragment": echo.get("fragment"),
                    "from": echo.get("id"),
                    "result": source
                    or {k: echo.get(k) for k in ("id", "server", "tool", "trust", "data", "findings")},
                }
            )
    return result


def render(chain: Chain) -> list[str]:
    """The chain as lines of text for a terminal."""
    call = chain.call
    facts = call.get("facts") or {}
    labels = call.get("labels") or {}
    findings = ",".join(facts.get("findings") or []) or "-"
    lines = [
        f"call    #{call['seq']} {call.get('method')} {call.get('server')}/{call.get('target')} "
        f"by {call.get('principal')}: {call.get('action')} ({call.get('code')})",
        f"        labels: trust={labels.get('trust')} data={labels.get('data')} "
        f"egress={labels.get('egress')}",
        f"        session: untrusted_seen={facts.get('untrusted_seen')} "
        f"private_seen={facts.get('private_seen')} findings={findings}",
    ]
    if not chain.echoes:
        lines.append("echoes  none: no argument carries a fragment of an earlier result")
    for echo in chain.echoes:
        source = echo["result"]
        where = f"#{source['seq']} " if "seq" in source else ""
        lines.append(f"echo    {echo['kind']}: {echo['fragment']}")
        lines.append(
            f"        from {where}{source.get('server')}/{source.get('target', source.get('tool'))} "
            f"[{echo['from']}] trust={_label(source, 'trust')} data={_label(source, 'data')} "
            f"findings={','.join(source.get('findings') or []) or '-'}"
        )
    lines.append(f"read    {len(chain.read_before)} result(s) earlier in the session:")
    for read in chain.read_before:
        lines.append(
            f"        #{read['seq']} {read.get('server')}/{read.get('target')} [{read['id']}] "
            f"trust={_label(read, 'trust')} data={_label(read, 'data')} "
            f"findings={','.join(read.get('findings') or []) or '-'}"
        )
    return lines


def _label(entry: dict[str, Any], name: str) -> Any:
    labels = entry.get("labels")
    return labels.get(name) if isinstance(labels, dict) else entry.get(name)
