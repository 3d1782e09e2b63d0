"""An optional webhook: a JSON notice when a request is created and when it is decided.

The body is signed with HMAC-SHA256 over `timestamp.body` (header `Ostiary-Signature:
t=<unix seconds>,v1=<hex>`), so a receiver can check it came from this gateway and is fresh.
Delivery is best effort, off the call's path: a slow or failing receiver never holds a call up.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from ostiary import secretref
from ostiary.approvals.settings import LOOPBACK, WebhookSettings
from ostiary.config import ConfigError
from ostiary.messages import dumps

log = logging.getLogger("ostiary.approvals")
MAX_PENDING = 100


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class Webhook:
    def __init__(self, settings: WebhookSettings) -> None:
        self.url = secretref.resolve(settings.url)
        parts = urlsplit(self.url)
        if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)):
            raise ConfigError("approvals.webhook.url must be https (http only on loopback)")
        self.secret = secretref.resolve(settings.secret).encode()
        self.timeout = settings.timeout
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, event: str, summary: dict[str, Any]) -> None:
        if len(self._tasks) >= MAX_PENDING:
            log.warning("approvals webhook: %d notices undelivered; this one is dropped", len(self._tasks))
            return
        task = asyncio.create_task(self._deliver({"event": event, "request": summary}))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, payload: dict[str, Any]) -> None:
        import httpx2  # noqa: PLC0415  (only with a webhook configured)

        body = dumps(payload)
        headers = {
            "Content-Type": "application/json",
            "Ostiary-Signature": signature(self.secret, int(time.time()), body),
        }
        try:
            async with httpx2.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                response = await client.post(self.url, content=body, headers=headers)
            if response.status_code >= 300:
                log.warning("approvals webhook: the receiver answered %d", response.status_code)
        except httpx2.HTTPError as exc:
            log.warning("approvals webhook: not delivered (%s)", type(exc).__name__)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.timeout)
