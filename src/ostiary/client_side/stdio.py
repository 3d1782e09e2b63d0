"""`ostiary run`: one host on our stdin/stdout, as desktop hosts launch MCP servers.

Bad input never stops the loop: unparseable lines and oversize messages get a JSON-RPC error with
a null id; a batch is refused unless the session negotiated 2025-03-26, the one revision that had
batches. End of input closes the session and every server it opened.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from ostiary import messages, methods
from ostiary.gateway import Gateway
from ostiary.identity import Principal
from ostiary.messages import Message, ProtocolError, RequestId
from ostiary.transports.framing import Oversize
from ostiary.transports.stdio import PipeTransport

log = logging.getLogger("ostiary.front.stdio")


class _Channel:
    def __init__(self, pipe: PipeTransport) -> None:
        self.pipe = pipe

    async def send(self, message: Message, related: RequestId | None) -> None:
        await self.pipe.send(message)


async def serve_stdio(gateway: Gateway, principal: Principal) -> None:
    limits = gateway.config.limits
    pipe = await PipeTransport.open_std(limits.max_message_bytes)
    session = gateway.open_session(principal, _Channel(pipe), uuid.uuid4().hex)
    prestart = asyncio.create_task(session.prestart())
    # The store opens while the servers start and the host's first message is read; the pipeline
    # holds every message until it is open, and a store that cannot open ends the session.
    gateway.pipeline.hold()
    starting = asyncio.create_task(gateway.start())
    starting.add_done_callback(lambda task: _on_started(task, gateway, pipe))
    try:
        while True:
            try:
                line = await pipe.read_raw()
            except Oversize as exc:
                log.warning("client sent %d bytes in one message, over the limit", exc.size)
                await pipe.send(
                    messages.error(exc.request_id(), methods.INVALID_REQUEST, "Message too large")
                )
                continue
            if line is None:
                break
            for message in _decode(line, session.protocol_version):
                if isinstance(message, ProtocolError):
                    await pipe.send(message.to_message())
                else:
                    await session.receive(message)
    finally:
        prestart.cancel()
        await session.close()
        await pipe.close()
    await starting  # raises why the gateway could not start, if it could not


def _on_started(task: asyncio.Task[None], gateway: Gateway, pipe: PipeTransport) -> None:
    failure = None if task.cancelled() else task.exception()
    if failure is None:
        gateway.pipeline.release()
        return
    gateway.pipeline.release("The gateway cannot record decisions, so it serves none.")
    pipe.reader.feed_eof()  # stop reading: nothing can be served


def _decode(line: bytes, version: str) -> list[Message | ProtocolError]:
    try:
        obj = messages.loads(line)
    except ProtocolError as exc:
        return [exc]
    if isinstance(obj, list):
        if version != methods.BATCHING_VERSION or not obj:
            return [ProtocolError(methods.INVALID_REQUEST, "Invalid Request: batches are not supported")]
        items = obj
    else:
        items = [obj]
    out: list[Message | ProtocolError] = []
    for item in items:
        try:
            out.append(messages.classify(item))
        except ProtocolError as exc:
            if isinstance(item, dict) and "method" not in item and ("result" in item or "error" in item):
                log.info("client sent a malformed response; dropped")
                continue
            out.append(exc)
    return out
