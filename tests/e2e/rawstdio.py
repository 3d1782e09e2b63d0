"""A deliberately dumb JSON-RPC client for `ostiary run`: it writes whatever bytes a test gives it.

Real SDK clients refuse to send malformed messages, so hostile-input tests need their own pen.
Lines from the gateway's stdout are read on a thread into a queue, so every read has a deadline
and a gateway that hangs fails the test instead of hanging it.
"""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import threading
import time
from typing import Any

INIT_VERSION = "2025-11-25"


class RawStdioClient:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None
        assert proc.stdout is not None
        self.proc = proc
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self._ids = itertools.count(1)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: Any) -> None:
        self.write(json.dumps(message).encode() + b"\n")

    def next_message(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next line the gateway writes, parsed; fails if none comes in time or it is not JSON."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the gateway wrote nothing within {timeout}s") from None
        if line is None:
            raise AssertionError(f"the gateway closed its stdout (exit code {self.proc.poll()})")
        message = json.loads(line)
        assert isinstance(message, dict), f"the gateway wrote a non-object line: {line!r}"
        return message

    def response_to(self, request_id: Any, timeout: float = 10.0) -> dict[str, Any]:
        """Reads until the response carrying `request_id`; notifications on the way are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.next_message(max(0.01, deadline - time.monotonic()))
            if message.get("id") == request_id and "method" not in message:
                return message

    def request(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        request_id = next(self._ids)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.response_to(request_id, timeout)

    def start_request(self, method: str, params: dict[str, Any]) -> int:
        request_id = next(self._ids)
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return request_id

    def initialize(self, timeout: float = 30.0) -> dict[str, Any]:
        """The handshake; generous, because the gateway starts its servers before answering."""
        response = self.request(
            "initialize",
            {
                "protocolVersion": INIT_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "ostiary-hostile-tests", "version": "1.0"},
            },
            timeout,
        )
        assert "result" in response, response
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return response

    def call_tool(self, name: str, arguments: dict[str, Any], timeout: float = 15.0) -> dict[str, Any]:
        return self.request("tools/call", {"name": name, "arguments": arguments}, timeout)

    def assert_silent(self, seconds: float) -> None:
        """Nothing arrives for `seconds` (used after input that deserves no answer)."""
        try:
            line = self.lines.get(timeout=seconds)
        except queue.Empty:
            return
        raise AssertionError(f"expected no output, got {line!r}")
