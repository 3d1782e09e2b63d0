"""A small JSON HTTP server on 127.0.0.1 for the identity tests: it records every request and
answers with whatever the test's `reply` function returns."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

Reply = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


@dataclass
class Endpoint:
    seen: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


def _ok(record: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return 200, {}


@contextmanager
def serve_json(reply: Reply = _ok) -> Iterator[Endpoint]:
    state = Endpoint()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            record = {"path": self.path, "headers": dict(self.headers), "form": parse_qs(body)}
            state.seen.append(record)
            status, document = reply(record)
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
