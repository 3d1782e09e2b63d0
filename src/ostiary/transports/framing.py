"""Newline-delimited JSON-RPC framing, as MCP's stdio transport defines it.

Shared by the stdio front (our own stdin/stdout) and stdio servers (a child's pipes). A line longer
than the message limit is discarded whole, never half-parsed, and reported as `Oversize` so the
caller can answer it.
"""

from __future__ import annotations

import asyncio


class Oversize(Exception):
    """A line exceeded the message size limit and was discarded."""

    def __init__(self, size: int) -> None:
        super().__init__(f"message of at least {size} bytes exceeds the limit")
        self.size = size


async def read_line(reader: asyncio.StreamReader) -> bytes | None:
    """The next line without its newline; None at end of stream. Raises Oversize."""
    discarded = 0
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if discarded:
                raise Oversize(discarded + len(exc.partial)) from None
            return exc.partial if exc.partial.strip() else None
        except asyncio.LimitOverrunError as exc:
            # Drop what is buffered and keep dropping until the end of this line.
            chunk = max(exc.consumed, 1)
            await reader.readexactly(chunk)
            discarded += chunk
            continue
        if discarded:
            raise Oversize(discarded + len(line))
        return line[:-1]


def encode(payload: bytes) -> bytes:
    """One message on one line. orjson never emits raw newlines, so no escaping is needed."""
    return payload + b"\n"
