"""Provenance: what each result brought into the session, and which of it a later call carries.

On a call (tools/call, prompts/get, resources/read) it links the arguments to the earlier
results they echo and leaves the session's facts for the policy stage after it; it never denies
anything itself: flow rules in the policy do. On a result it gives the result a provenance id
(optionally also in the result's `_meta`). As an observer of final decisions it adds each result
that reached the client to the session's trace, with its labels and what the detectors found.
Place it before `policy` in `inspections:`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ostiary import methods
from ostiary.config import Config, ConfigError
from ostiary.detection.payload import model_visible
from ostiary.detection.walker import Walk
from ostiary.messages import Kind, Message
from ostiary.pipeline import ALLOW, Decision, Exchange, Hook, Inspection, Verdict, modify
from ostiary.provenance.labels import Labeller
from ostiary.provenance.trace import Entry, SessionTrace, Traces, args_from, new_id

# Notes left on the exchange: the id the audit record links to, and what it records of the
# provenance of a call and of a result. `policy` reads CALL_NOTE.
ID_NOTE = "provenance_id"
CALL_NOTE = "provenance.call"
RESULT_NOTE = "provenance.result"
META_KEY = "ostiary.dev/provenance"
TAGGED = "provenance.tagged"
# Echoes recorded per call (the summary in `args_from` covers them all).
MAX_ECHOES = 8
CALLS = frozenset({methods.TOOLS_CALL, methods.PROMPTS_GET, methods.RESOURCES_READ})


def argument_strings(message: Message, method: str) -> list[str]:
    """Every string a call hands the server: the arguments' values (and their keys), or the URI."""
    params = message.params
    if method == methods.RESOURCES_READ:
        uri = params.get("uri")
        return [uri] if isinstance(uri, str) else []
    arguments = params.get("arguments")
    if not isinstance(arguments, dict) or not arguments:
        return []
    return [text for _, text in Walk(arguments, keys=False)]


class ProvenanceInspection(Inspection):
    name = "provenance"
    methods = CALLS

    def __init__(self, labeller: Labeller, traces: Traces, meta: bool = False) -> None:
        self.labeller = labeller
        self.traces = traces
        self.meta = meta

    def _trace(self, exchange: Exchange) -> SessionTrace:
        return self.traces.get(exchange.session_id, time.monotonic())

    async def on_client_request(self, message: Message, exchange: Exchange) -> Verdict:
        trace = self._trace(exchange)
        labels = self.labeller.labels(exchange.server, exchange.target, exchange.definition)
        echoes = trace.echoes(argument_strings(message, exchange.method))
        exchange.notes[CALL_NOTE] = {
            "labels": labels.as_dict(),
            "session": trace.facts.as_dict(),
            "args_from": args_from(echoes),
            "echoes": [echo.as_dict() for echo in echoes[:MAX_ECHOES]],
            "since_us": trace.facts.since_us,
        }
        return ALLOW

    async def on_server_response(self, message: Message, exchange: Exchange) -> Verdict:
        if message.kind is not Kind.RESULT:
            return ALLOW
        pid = exchange.notes[ID_NOTE] = new_id()
        if not self.meta:
            return ALLOW
        result = message.result
        meta = result.get("_meta")
        tagged = {**result, "_meta": {**(meta if isinstance(meta, dict) else {}), META_KEY: {"id": pid}}}
        return modify(message.with_result(tagged), TAGGED, "The result carries its provenance id.")

    async def observe(self, decision: Decision) -> None:
        """Add a result that reaches the client to its session's trace, before it is recorded."""
        exchange = decision.exchange
        message = decision.message
        if (
            decision.hook is not Hook.SERVER_RESPONSE
            or exchange.method not in CALLS
            or not decision.forwarded
            or message.kind is not Kind.RESULT
        ):
            return
        pid = exchange.notes.get(ID_NOTE)
        if not isinstance(pid, str):
            pid = exchange.notes[ID_NOTE] = new_id()
        labels = self.labeller.labels(exchange.server, exchange.target, exchange.definition)
        reported = [v for v in decision.verdicts if v.inspection and v.inspection != self.name]
        findings = tuple(sorted({v.inspection for v in reported}))
        entry = Entry(
            pid,
            time.time_ns() // 1000,
            exchange.server,
            exchange.target,
            exchange.method,
            labels,
            findings,
            tuple(sorted({v.code for v in reported})),
        )
        # A tool with an output schema sends its text twice (content and structuredContent).
        texts = list(dict.fromkeys(text for _, text in model_visible(message.result)))
        trace = self._trace(exchange)
        trace.add(entry, texts, labels.trust == "untrusted" or "injection" in findings)
        # Indexing waits for the next turn of the loop, off this result's way to the client; a
        # call judged before then indexes it first.
        asyncio.get_running_loop().call_soon(self.traces.flush, trace)
        exchange.notes[RESULT_NOTE] = {
            "id": pid,
            "labels": labels.as_dict(),
            "findings": list(findings),
            "codes": list(entry.codes),
        }


def build(options: dict[str, Any], config: Config) -> ProvenanceInspection:
    known = {"meta", "window", "max_sessions", "max_results", "max_fragments", "max_total_fragments"}
    unknown = set(options) - known
    if unknown:
        raise ConfigError(f"inspections: provenance has no option {sorted(unknown)[0]!r}")
    try:
        traces = Traces(
            max_sessions=int(options.get("max_sessions", 1000)),
            window=float(options.get("window", 3600.0)),
            max_results=int(options.get("max_results", 1000)),
            max_keys=int(options.get("max_fragments", 250_000)),
            max_total_keys=int(options.get("max_total_fragments", 500_000)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"inspections: provenance: {exc}") from None
    return ProvenanceInspection(Labeller(config), traces, bool(options.get("meta", False)))
