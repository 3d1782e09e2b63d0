"""Era bridging: what changes when a 2026-07-28 client meets a 2025-era server, and the reverse.

Result shapes: a modern client needs `resultType` on every result and `ttlMs`/`cacheScope` on
list and read results; a legacy client must not see them (deployed TypeScript clients reject
unknown keys on empty results). Lists are filtered per principal, so their cache scope is always
`private`.

Multi-round-trip requests: a modern client cannot receive server->client requests, so a legacy
server's sampling/elicitation/roots request made during a call is parked, handed to the client as
an `InputRequiredResult`, and resumed when the client retries with `requestState`. The state is
Ostiary's own: it is added to the result only after the pipeline has judged it (`hand_over`), so
no inspection can rewrite or refuse it (a random state can look like a credential), and a call
whose result does not reach the client as such is dropped at once. A question that arrives for a
call whose outcome was already handed over, or that was abandoned, gets no answer (None), so the
server hears an error instead of waiting. The reverse (a modern server asking a legacy client) is
the session's: it asks the client directly and retries.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from ostiary import methods
from ostiary.messages import JSON, Kind, Message

MODERN_ONLY_FIELDS = ("resultType", "ttlMs", "cacheScope")
CACHEABLE = frozenset(
    {
        methods.DISCOVER,
        methods.TOOLS_LIST,
        methods.PROMPTS_LIST,
        methods.RESOURCES_LIST,
        methods.RESOURCES_TEMPLATES_LIST,
        methods.RESOURCES_READ,
    }
)
MAX_ROUNDS = 16


def for_modern_client(method: str, result: JSON) -> JSON:
    cacheable = method in CACHEABLE
    if "resultType" in result and (
        not cacheable or ("ttlMs" in result and result.get("cacheScope") == "private")
    ):
        return result
    out = dict(result)
    out.setdefault("resultType", "complete")
    if cacheable:
        out.setdefault("ttlMs", 0)
        out["cacheScope"] = "private"
    return out


def for_legacy_client(result: JSON) -> JSON:
    if not any(k in result for k in MODERN_ONLY_FIELDS):
        return result
    return {k: v for k, v in result.items() if k not in MODERN_ONLY_FIELDS}


def is_input_required(result: JSON) -> bool:
    return result.get("resultType") == "input_required"


@dataclass(slots=True)
class ParkedCall:
    """A server call waiting on answers a modern client must give through a retry."""

    principal: str
    task: asyncio.Task[Message] | None = None
    # The client request this call currently answers to: the latest retry's.
    call: Any = None
    # Marks, for the connection, a context that server->client requests can be attributed to.
    takes_server_requests: bool = True
    events: asyncio.Queue[tuple[str, Message]] = field(default_factory=asyncio.Queue)
    # A question's future gets the client's answer, or None when none can come.
    waiting: dict[str, asyncio.Future[JSON | None]] = field(default_factory=dict)
    expires: float = 0.0
    # The requestState the client resumes this call by, once it has been asked something.
    state: str | None = None
    # Its outcome was handed over, or it was abandoned: it takes no more questions.
    closed: bool = False
    _keys: int = 0

    def ask(self, request: Message) -> asyncio.Future[JSON | None]:
        """Queue one server->client request for the client; the future gets the client's answer,
        or None at once if this call can no longer carry a question to its client."""
        future: asyncio.Future[JSON | None] = asyncio.get_running_loop().create_future()
        if self.closed:
            future.set_result(None)
            return future
        self._keys += 1
        key = f"r{self._keys}"
        self.waiting[key] = future
        self.events.put_nowait((key, request))
        return future

    def answer(self, responses: object) -> None:
        if not isinstance(responses, dict):
            return
        for key, value in responses.items():
            future = self.waiting.pop(key, None)
            if future is not None and not future.done() and isinstance(value, dict):
                future.set_result(value)

    def close(self) -> None:
        """No more questions: those still unanswered (asked or only queued) get None."""
        self.closed = True
        for future in self.waiting.values():
            if not future.done():
                future.set_result(None)
        self.waiting.clear()
        while not self.events.empty():
            self.events.get_nowait()

    def abandon(self) -> None:
        self.close()
        if self.task is not None and not self.task.done():
            self.task.cancel()


class Parking:
    """Parked calls of one session, by the opaque `requestState` the client was given."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._calls: dict[str, ParkedCall] = {}

    def take(self, state: object, principal: str) -> ParkedCall | None:
        if not isinstance(state, str):
            return None
        call = self._calls.get(state)
        if call is None or call.principal != principal:
            return None
        del self._calls[state]
        return call

    async def next_outcome(self, call: ParkedCall) -> Message | JSON:
        """The server's final response, or an InputRequiredResult for what it asks of the client:
        without `requestState`, which `hand_over` adds once the result has been judged."""
        assert call.task is not None
        getter = asyncio.ensure_future(call.events.get())
        try:
            done, _ = await asyncio.wait({call.task, getter}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            getter.cancel()
            call.abandon()
            raise
        if getter not in done:
            getter.cancel()
            call.close()  # a question after the outcome belongs to no call the client still has
            return call.task.result()
        asks = [getter.result()]
        while not call.events.empty():
            asks.append(call.events.get_nowait())
        self._expire()
        state = secrets.token_urlsafe(24)
        call.state = state
        call.expires = time.monotonic() + self.ttl
        self._calls[state] = call
        requests: dict[str, Any] = {}
        for key, message in asks:
            entry: JSON = {"method": message.method}
            if "params" in message.raw:
                entry["params"] = message.params
            requests[key] = entry
        return {"resultType": "input_required", "inputRequests": requests}

    def hand_over(self, call: ParkedCall, response: Message) -> Message:
        """What the client gets for `call`'s InputRequiredResult, as the pipeline let it through:
        with the requestState that resumes the call. Anything else (a refusal, a replacement) ends
        the call, which no retry can reach any more."""
        state = call.state
        if (
            state is not None
            and self._calls.get(state) is call
            and response.kind is Kind.RESULT
            and is_input_required(response.result)
        ):
            return response.with_result({**response.result, "requestState": state})
        self.drop(call)
        return response

    def drop(self, call: ParkedCall) -> None:
        if call.state is not None and self._calls.get(call.state) is call:
            del self._calls[call.state]
        call.abandon()

    def _expire(self) -> None:
        now = time.monotonic()
        for state in [s for s, c in self._calls.items() if c.expires < now]:
            self._calls.pop(state).abandon()

    def close(self) -> None:
        for call in self._calls.values():
            call.abandon()
        self._calls.clear()


def without_retry_fields(params: JSON) -> JSON:
    return {k: v for k, v in params.items() if k not in ("inputResponses", "requestState")}
