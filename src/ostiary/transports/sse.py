"""An incremental Server-Sent Events parser: bytes in any chunking, whole events out.

Follows the WHATWG event-stream rules (CR, LF or CRLF line ends, `:` comments, one optional
space after the colon, multi-line `data`, `id` and `retry` remembered across events) so that an
MCP server's SSE response is read the same however the network splits it. It enforces one
bound: an event whose data exceeds `max_event_bytes`, or a single line longer than that, is
dropped whole with a log line, so a server cannot make Ostiary buffer without limit. No I/O.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

_EOL = re.compile(rb"[\r\n]")
_BOM = b"\xef\xbb\xbf"
# Room for a field name and separator around a value of the maximum size.
_LINE_SLACK = 64


@dataclass(frozen=True, slots=True)
class Event:
    """One dispatched event. `id` is the stream's last event id when it was dispatched."""

    data: str
    event: str = "message"
    id: str | None = None


class SseParser:
    """Feed bytes, get events. One parser per HTTP response stream."""

    def __init__(self, max_event_bytes: int) -> None:
        self._max_event = max_event_bytes
        self._max_line = max_event_bytes + _LINE_SLACK
        self._buf = bytearray()
        self._scanned = 0
        self._skip_lf = False
        self._discarding_line = False
        self._started = False
        self._data: list[bytes] = []
        self._data_size = 0
        self._event_type = ""
        self._oversize = False
        self.last_event_id: str | None = None
        self.retry_ms: int | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        """Consume a chunk; return the events it completed, in order."""
        events: list[Event] = []
        if not chunk:
            return events
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        buf = self._buf
        buf += chunk
        if not self._started:
            if len(buf) < len(_BOM) and _BOM.startswith(bytes(buf)):
                return events
            self._started = True
            if buf.startswith(_BOM):
                del buf[: len(_BOM)]
        start = 0
        pos = self._scanned
        while True:
            match = _EOL.search(buf, pos)
            if match is None:
                break
            end = match.start()
            if buf[end] == 0x0D:
                if end + 1 < len(buf):
                    nxt = end + 2 if buf[end + 1] == 0x0A else end + 1
                else:
                    self._skip_lf = True
                    nxt = end + 1
            else:
                nxt = end + 1
            if self._discarding_line:
                self._discarding_line = False
            else:
                self._line(bytes(buf[start:end]), events)
            start = pos = nxt
        del buf[:start]
        self._scanned = len(buf)
        if len(buf) > self._max_line:
            # A line this long can only be part of an oversize event: stop buffering it.
            self._oversize = True
            self._discarding_line = True
            buf.clear()
            self._scanned = 0
        return events

    def _line(self, line: bytes, events: list[Event]) -> None:
        if not line:
            self._dispatch(events)
            return
        if len(line) > self._max_line:
            self._oversize = True
            return
        if line[:1] == b":":
            return
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data_size += len(value) + 1
            if self._data_size > self._max_event + 1:
                self._oversize = True
                self._data.clear()
            elif not self._oversize:
                self._data.append(value)
        elif name == b"event":
            self._event_type = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\x00" not in value:
                self.last_event_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            self.retry_ms = int(value)

    def _dispatch(self, events: list[Event]) -> None:
        oversize, size = self._oversize, self._data_size
        has_data = size > 0
        data = b"\n".join(self._data)
        event_type = self._event_type or "message"
        self._data = []
        self._data_size = 0
        self._event_type = ""
        self._oversize = False
        if oversize:
            log.warning("dropped a server-sent event over %d bytes", self._max_event)
            return
        if has_data:
            events.append(Event(data.decode("utf-8", "replace"), event_type, self.last_event_id))
