"""Newline-delimited JSON-RPC framing, as MCP's stdio transport defines it.

Shared by the stdio front (our own stdin/stdout) and stdio servers (a child's pipes). A line longer
than the message limit is discarded whole, never half-parsed, and reported as `Oversize` so the
caller can answer it.
"""

from __future__ import annotations

import asyncio
import json
import re

EDGE = 256
_ID_VALUE = rb'(-?\d{1,18}|"(?:[^"\\]|\\.){0,128}")'
_ID = re.compile(rb'"id"\s*:\s*' + _ID_VALUE)
_TAIL_ID = re.compile(rb'"id"\s*:\s*' + _ID_VALUE + rb"\s*\}\s*$")


class Oversize(Exception):
    """A line exceeded the message size limit and was discarded.

    The first and last bytes are kept so the request id can still be found: an oversize response
    must become an error for that request, not a silent hang.
    """

    def __init__(self, size: int, head: bytes = b"", tail: bytes = b"") -> None:
        super().__init__(f"message of at least {size} bytes exceeds the limit")
        self.size = size
        self.head = head
        self.tail = tail

    def request_id(self) -> str | int | None:
        """The envelope's id, if it stands in the kept edges: before the payload key in the head,
        or as the last key in the tail (peers order keys differently). A nested "id" never counts.
        """
        cut = min(
            (i for i in (self.head.find(b'"result"'), self.head.find(b'"error"')) if i >= 0), default=-1
        )
        candidates = [_TAIL_ID.search(self.tail)]
        if cut >= 0:
            candidates.insert(0, _ID.search(self.head[:cut]))
        for match in candidates:
            if match is None:
                continue
            try:
                value = json.loads(match.group(1))
            except ValueError:
                continue
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                return value
        return None


async def read_line(reader: asyncio.StreamReader) -> bytes | None:
    """The next line without its newline; None at end of stream. Raises Oversize."""
    discarded = 0
    head = tail = b""
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if discarded:
                raise Oversize(discarded + len(exc.partial), head, (tail + exc.partial)[-EDGE:]) from None
            return exc.partial if exc.partial.strip() else None
        except asyncio.LimitOverrunError as exc:
            # Drop what is buffered and keep dropping until the end of this line.
            chunk = await reader.readexactly(max(exc.consumed, 1))
            if not discarded:
                head = chunk[:EDGE]
            tail = (tail + chunk)[-EDGE:]
            discarded += len(chunk)
            continue
        if discarded:
            raise Oversize(discarded + len(line), head, (tail + line[:-1])[-EDGE:])
        return line[:-1]


def encode(payload: bytes) -> bytes:
    """One message on one line. orjson never emits raw newlines, so no escaping is needed."""
    return payload + b"\n"
