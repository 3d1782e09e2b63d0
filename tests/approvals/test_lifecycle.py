"""What happens around a held call besides a decision: the gateway holding it dies, the policy
changes while it waits, a team's webhook is told. Real `ostiary serve`, real `mcp-server-time`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from approvals.gateways import HELD_ARGS, HELD_TOOL, pending_request, run_ostiary, serve, serve_process

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
Spawn = Callable[..., subprocess.Popen[bytes]]


async def test_a_request_whose_gateway_died_is_shown_abandoned_and_cannot_be_approved(
    held_gateway: Callable[..., Path], ostiary_command: list[str], spawn: Spawn
) -> None:
    config = held_gateway(["self"], approvals={"heartbeat": 0.2})
    base, gateway = serve_process(spawn, ostiary_command, config)
    # The connection breaks under the client; what it raises then is the SDK's business.
    with contextlib.suppress(Exception):
        async with Client(f"{base}/mcp", mode="legacy") as client:
            call = asyncio.create_task(client.call_tool(HELD_TOOL, HELD_ARGS))
            pending = await pending_request(ostiary_command, config)
            os.killpg(gateway.pid, signal.SIGKILL)
            gateway.wait(10)
            await asyncio.wait_for(call, 30)
    await asyncio.sleep(1.0)  # three missed heartbeats
    listed = run_ostiary(ostiary_command, "approvals", "list", "--all", "--json", "--config", str(config))
    assert json.loads(listed.stdout)["requests"][0]["status"] == "abandoned"
    refused = run_ostiary(
        ostiary_command, "approvals", "approve", pending["id"], "--config", str(config), check=False
    )
    assert refused.returncode == 2 and "abandoned" in refused.stderr


async def test_a_call_approved_after_the_policy_changed_is_judged_again_and_refused(
    held_gateway: Callable[..., Path], ostiary_command: list[str], spawn: Spawn
) -> None:
    config = held_gateway(["self"])
    base = serve(spawn, ostiary_command, config)
    async with Client(f"{base}/mcp", mode="legacy") as client:
        call = asyncio.create_task(client.call_tool(HELD_TOOL, HELD_ARGS))
        pending = await pending_request(ostiary_command, config)
        policy = config.parent / "policy.yaml"
        policy.write_text(policy.read_text().replace("effect: approve", "effect: deny").replace(
            "    approvers: ['self']\n    expires: 60\n", ""))  # fmt: skip
        await asyncio.sleep(2.5)  # the policy is reloaded within its watch interval
        run_ostiary(ostiary_command, "approvals", "approve", pending["id"], "--config", str(config))
        with pytest.raises(MCPError) as refused:
            await asyncio.wait_for(call, 30)
    assert refused.value.error.data["code"] == "policy.denied"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


async def test_the_webhook_is_told_of_each_request_and_decision_with_a_valid_signature(
    held_gateway: Callable[..., Path],
    ostiary_command: list[str],
    spawn: Spawn,
    receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, received = receiver
    secret = "hook-secret-0123456789"
    config = held_gateway(["self"], approvals={"webhook": {"url": url, "secret": secret}})
    base = serve(spawn, ostiary_command, config)
    async with Client(f"{base}/mcp", mode="legacy") as client:
        call = asyncio.create_task(client.call_tool(HELD_TOOL, HELD_ARGS))
        pending = await pending_request(ostiary_command, config)
        run_ostiary(ostiary_command, "approvals", "approve", pending["id"], "--config", str(config))
        await asyncio.wait_for(call, 30)
    events = []
    for headers, body in received:
        stamp, mac = (part.split("=", 1)[1] for part in headers["Ostiary-Signature"].split(","))
        expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(mac, expected)
        event = json.loads(body)
        events.append((event["event"], event["request"]["status"], event["request"]["id"]))
    assert ("created", "pending", pending["id"]) in events
    assert ("decided", "approved", pending["id"]) in events
    assert secret not in json.dumps(events)
