"""The deprecated HTTP+SSE transport (2024-11-05) toward MCP servers that still only speak it.

A GET opens an event stream whose first `endpoint` event names the URL to POST messages to; every
message from the server arrives as a `message` event on that one stream. The protocol has no
resumption, so the stream ending ends the transport. The endpoint must stay on the origin of the
SSE URL: a server may not redirect Ostiary's messages, with their configured credentials, to
another host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urljoin, urlsplit

import httpx2

from ostiary.messages import Message, dumps
from ostiary.transports.base import TransportClosed
from ostiary.transports.http11 import tls_context
from ostiary.transports.http_client import NETWORK_ERRORS, media_type, url_label
from ostiary.transports.inbox import Inbox
from ostiary.transports.sse import SseParser

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    port_a = pa.port or _DEFAULT_PORTS.get(pa.scheme)
    port_b = pb.port or _DEFAULT_PORTS.get(pb.scheme)
    return (pa.scheme, pa.hostname, port_a) == (pb.scheme, pb.hostname, port_b)


class SseTransport:
    """One HTTP+SSE server; `headers` go on the GET and every POST and are never logged."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        timeout: float,
        max_message_bytes: int,
        *,
        queue_bound: int = 256,
    ) -> None:
        self._url = url
        self._label = url_label(url)
        self._headers = dict(headers)
        self._timeout = timeout
        self._max = max_message_bytes
        self._inbox = Inbox(queue_bound)
        self._client: httpx2.AsyncClient | None = None
        self._reader: asyncio.Task[None] | None = None
        self._endpoint: asyncio.Future[str] | None = None
        self._endpoint_url: str | None = None

    @property
    def endpoint(self) -> str | None:
        """The URL messages are POSTed to, once the server has named it."""
        return self._endpoint_url

    async def start(self) -> None:
        """Open the stream and wait for the endpoint; TransportClosed if either fails."""
        self._client = httpx2.AsyncClient(
            timeout=httpx2.Timeout(self._timeout, read=None), follow_redirects=False, verify=tls_context()
        )
        self._endpoint = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(self._client, self._endpoint))
        try:
            await asyncio.wait_for(asyncio.shield(self._endpoint), self._timeout)
        except TimeoutError:
            await self.close()
            raise TransportClosed("no endpoint event from the server") from None
        except TransportClosed:
            await self.close()
            raise

    async def receive(self) -> Message:
        return await self._inbox.get()

    async def send(self, message: Message) -> None:
        if self._inbox.closed is not None:
            raise TransportClosed(self._inbox.closed)
        endpoint = self.endpoint
        if self._client is None or endpoint is None:
            raise TransportClosed("not started")
        headers = {"Content-Type": "application/json", **self._headers}
        try:
            resp = await self._client.post(endpoint, content=dumps(message), headers=headers)
        except NETWORK_ERRORS as exc:
            await self._inbox.fail(message, f"upstream unreachable ({type(exc).__name__})", self._label)
            return
        if not 200 <= resp.status_code < 300:
            await self._inbox.fail(message, f"upstream HTTP {resp.status_code}", self._label)

    async def close(self) -> None:
        self._inbox.close("closed")
        if self._endpoint is not None and not self._endpoint.done():
            self._endpoint.cancel()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _read(self, client: httpx2.AsyncClient, endpoint: asyncio.Future[str]) -> None:
        reason = "upstream event stream ended"
        try:
            headers = {"Accept": "text/event-stream", **self._headers}
            async with client.stream("GET", self._url, headers=headers) as resp:
                if resp.status_code != 200 or media_type(resp) != "text/event-stream":
                    reason = f"upstream HTTP {resp.status_code} on the event stream"
                    return
                parser = SseParser(self._max)
                async for chunk in resp.aiter_bytes():
                    for event in parser.feed(chunk):
                        if event.event == "endpoint" and not endpoint.done():
                            target = urljoin(self._url, event.data.strip())
                            if not same_origin(target, self._url):
                                reason = "upstream endpoint is on another origin"
                                return
                            self._endpoint_url = target
                            endpoint.set_result(target)
                        elif event.event == "message" and endpoint.done():
                            await self._inbox.put_json(event.data, None, self._label)
        except NETWORK_ERRORS as exc:
            reason = f"upstream event stream failed ({type(exc).__name__})"
        finally:
            if not endpoint.done():
                endpoint.set_exception(TransportClosed(reason))
            if self._inbox.closed is None:
                log.warning("%s: %s", self._label, reason)
            self._inbox.close(reason)
