"""Bounds on what a server may send toward the client: a server that answers one call with
thousands of notifications or dozens of sampling requests must not flood the host, the model or
the audit log.

Two bounds apply to each server->client request and notification: per client call (counted on
the `Call`) and per session per minute (a fixed window). Beyond either, notifications are dropped
and requests refused; the refusal is recorded once per call and window, not once per message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ostiary.config import LimitsConfig
from ostiary.session.call import Call

NOTIFICATIONS = "flood.notifications"
REQUESTS = "flood.requests"
WINDOW = 60.0


@dataclass(slots=True)
class Refusal:
    code: str
    reason: str
    # Whether this is the first refusal of its kind in its call or window: only that one is recorded.
    first: bool


@dataclass(slots=True)
class FloodGuard:
    limits: LimitsConfig
    _window_start: float = field(default_factory=time.monotonic)
    _notices: int = 0
    _asks: int = 0
    _refused: set[tuple[str, int]] = field(default_factory=set)

    def _roll(self) -> None:
        now = time.monotonic()
        if now - self._window_start >= WINDOW:
            self._window_start, self._notices, self._asks = now, 0, 0
            self._refused.clear()

    def notification(self, call: Call | None) -> Refusal | None:
        self._roll()
        self._notices += 1
        if call is not None:
            call.notices += 1
            if call.notices > self.limits.server_notifications_per_call:
                first = call.notices == self.limits.server_notifications_per_call + 1
                return Refusal(NOTIFICATIONS, "The server sent too many notifications in one call.", first)
        if self._notices > self.limits.server_notifications_per_minute:
            return self._refusal(NOTIFICATIONS, "The server sent too many notifications this minute.")
        return None

    def request(self, call: Call | None) -> Refusal | None:
        self._roll()
        self._asks += 1
        if call is not None:
            call.asks += 1
            if call.asks > self.limits.server_requests_per_call:
                first = call.asks == self.limits.server_requests_per_call + 1
                return Refusal(REQUESTS, "The server sent too many requests in one call.", first)
        if self._asks > self.limits.server_requests_per_minute:
            return self._refusal(REQUESTS, "The server sent too many requests this minute.")
        return None

    def _refusal(self, code: str, reason: str) -> Refusal:
        key = (code, 0)
        first = key not in self._refused
        self._refused.add(key)
        return Refusal(code, reason, first)
