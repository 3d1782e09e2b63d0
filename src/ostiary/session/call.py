"""A client request in flight: what the session, the router and the era bridge share about it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ostiary.messages import Message, RequestId
from ostiary.server_side.hello import Era


@dataclass(slots=True)
class Call:
    """A client request in flight."""

    client_id: RequestId
    message: Message
    era: Era
    task: asyncio.Task[None] | None = None
    done: bool = False
    # What the servers sent toward the client inside this call (see `flood.py`).
    notices: int = 0
    asks: int = 0
    progressed: int = 0
