"""The attacks of `ostiary demo`, each played twice: straight to the hostile server, as a host
without Ostiary would, and through `ostiary run`, as a host with it. What reached the model both
times is kept, and for the second run the audit records that show the decision.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ostiary import messages, methods
from ostiary.demo.server import INJECTED, POISONED, RUG_PULLED
from ostiary.messages import Kind, Message
from ostiary.transports.base import TransportClosed
from ostiary.transports.stdio import ProcessTransport

# A synthetic key in the documented format: not a credential of anything.
DEMO_KEY = "AKIAZ3XQ7PLMWERT5YHU"
GATEWAY_NAME = "ostiary-demo"
LIMIT = 16 * 1024 * 1024
POLICY = """\
version: 1
defaults: {read_only: allow, other: allow}
rules:
  - id: never-delete
    description: nothing deletes the project through an agent
    effect: deny
    servers: [demo]
    tools: [delete_all]
  - id: writes-need-review
    description: a person approves every write
    effect: approve
    servers: [demo]
    tools: [write_file]
"""


@dataclass
class Attack:
    key: str
    title: str
    without: str = ""
    with_ostiary: str = ""
    code: str | None = None
    audit: list[str] = field(default_factory=list)


class Peer:
    """A minimal MCP client over stdio: requests by id, notifications kept, server asks refused."""

    def __init__(self, command: str, args: list[str], cwd: str | None = None) -> None:
        self.transport = ProcessTransport("demo", command, args, {}, cwd, LIMIT)
        self.pending: dict[int, asyncio.Future[Message]] = {}
        self.notifications: list[str] = []
        self.next_id = 1
        self.reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.transport.start()
        self.reader = asyncio.create_task(self._read())
        await self.request(
            methods.INITIALIZE,
            {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "ostiary-demo"}},
        )
        await self.transport.send(messages.notification(methods.INITIALIZED))

    async def _read(self) -> None:
        try:
            while True:
                message = await self.transport.receive()
                if message.kind is Kind.NOTIFICATION:
                    self.notifications.append(message.method)
                elif message.kind is Kind.REQUEST and message.id is not None:
                    await self.transport.send(messages.error(message.id, methods.METHOD_NOT_FOUND, "no"))
                elif isinstance(message.id, int) and message.id in self.pending:
                    self.pending.pop(message.id).set_result(message)
        except TransportClosed:
            for future in self.pending.values():
                future.cancel()

    async def request(self, method: str, params: dict[str, Any] | None = None) -> Message:
        request_id, self.next_id = self.next_id, self.next_id + 1
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        await self.transport.send(messages.request(request_id, method, params or {}))
        async with asyncio.timeout(30):
            return await future

    async def tools(self) -> dict[str, dict[str, Any]]:
        listed = (await self.request(methods.TOOLS_LIST)).result.get("tools") or []
        return {str(t.get("name")).removeprefix("demo__"): t for t in listed if isinstance(t, dict)}

    async def call(self, prefix: str, name: str, arguments: dict[str, Any]) -> str:
        response = await self.request(methods.TOOLS_CALL, {"name": f"{prefix}{name}", "arguments": arguments})
        if response.kind is Kind.ERROR:
            return f"JSON-RPC error {response.error.get('code')}: {response.error.get('message')}"
        content = response.result.get("content") or [{}]
        text = str(content[0].get("text", "")) if isinstance(content[0], dict) else ""
        return ("[tool error] " if response.result.get("isError") else "") + text

    async def close(self) -> None:
        await self.transport.close()
        if self.reader is not None:
            self.reader.cancel()


def _short(text: str, limit: int = 150) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


async def _until(check: Callable[[], Awaitable[bool]], attempts: int = 100) -> None:
    """Polls `check` (a list the gateway refreshes in the background) up to `attempts` times."""
    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(0.1)


async def _play(peer: Peer, prefix: str) -> dict[str, str]:
    """Every attack against one peer; what reached the model, by attack."""
    seen: dict[str, str] = {}
    tools = await peer.tools()
    add = tools.get("add")
    seen["poisoned-description"] = (
        f"the model reads: {_short(str(add.get('description')))}"
        if add
        else "`add` is not shown to the model"
    )
    await peer.call(prefix, "echo", {"text": "hello"})

    async def relisted() -> bool:
        now = (await peer.tools()).get("echo")
        return now is None or "IMPORTANT" in str(now.get("description"))

    await _until(relisted)
    echo = (await peer.tools()).get("echo")
    if echo is not None:
        seen["rug-pull"] = f"the model now reads: {_short(str(echo.get('description')))}"
    else:
        seen["rug-pull"] = "`echo` disappears from the list; a call: " + _short(
            await peer.call(prefix, "echo", {"text": "hello"}), 400
        )
    seen["injected-result"] = await peer.call(prefix, "fetch_page", {"url": "https://example.invalid/notes"})
    seen["secret-in-arguments"] = await peer.call(prefix, "send_message", {"text": f"the key is {DEMO_KEY}"})
    seen["destructive-call"] = await peer.call(prefix, "delete_all", {})
    seen["held-write"] = await peer.call(prefix, "write_file", {"path": "notes.txt", "content": "x"})
    return {k: v if k in ("poisoned-description", "rug-pull") else _short(v, 400) for k, v in seen.items()}


ATTACKS = (
    ("poisoned-description", "A tool description with hidden instructions", ("poisoning.",)),
    ("rug-pull", "A trusted tool changes its description (rug pull)", ("pinning.",)),
    ("injected-result", "A result carries an injection with an exfiltration URL", ("injection.",)),
    ("secret-in-arguments", "A cloud key leaves in a call's arguments", ("secrets.",)),
    ("destructive-call", "A destructive call the policy denies", ("policy.denied",)),
    ("held-write", "A write that needs a reviewer's approval", ("approval.", "policy.approval")),
)


def _config(folder: Path) -> Path:
    (folder / "policy.yaml").write_text(POLICY, encoding="utf-8")
    server = {"command": sys.executable, "args": ["-m", "ostiary.demo.server"]}
    config = {
        "name": GATEWAY_NAME,
        "servers": {"demo": server},
        "store": f"sqlite+aiosqlite:///{folder / 'demo.db'}",
        "audit": {"key_file": str(folder / "audit.key")},
        # A held write becomes an approval request answered at once, so the demo does not wait.
        "approvals": {"mode": "deferred"},
        # An audit record carries the last change made to a message: poisoning after policy, so
        # that a list's record names the poisoned tool it withheld.
        "inspections": [
            {"name": "toolfilter"},
            {"name": "policy", "file": "policy.yaml"},
            {"name": "pinning"},
            {"name": "poisoning", "action": "block"},
            {"name": "injection", "action": "block"},
            {"name": "secrets", "action": "redact"},
        ],
    }
    path = folder / "ostiary.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


async def _audit(config_path: Path) -> list[dict[str, Any]]:
    """The decisions that were not plain allows, from the demo gateway's audit log."""
    from ostiary.audit import sealer_from_config  # noqa: PLC0415
    from ostiary.audit.log import CHAIN, AuditLog  # noqa: PLC0415
    from ostiary.config import load  # noqa: PLC0415
    from ostiary.store import open_store  # noqa: PLC0415

    config = load(config_path)
    store = await open_store(config)
    try:
        log = AuditLog(store, sealer_from_config(config))  # chains what the gateway left spooled
        await log.start()
        await log.close()
        rows = [row async for row in store.audit_rows(CHAIN)]
    finally:
        await store.close()
    found = []
    for row in rows:
        body = json.loads(row.body)
        if body.get("code") not in (None, "allow"):
            found.append({"seq": row.seq, **body})
    return found


async def run_demo() -> list[Attack]:
    attacks = [Attack(key, title) for key, title, _ in ATTACKS]
    direct = Peer(sys.executable, ["-m", "ostiary.demo.server"])
    await direct.start()
    try:
        without = await _play(direct, "")
    finally:
        await direct.close()
    with tempfile.TemporaryDirectory(prefix="ostiary-demo-") as tmp:
        config = _config(Path(tmp))
        launch = f"from ostiary.cli import main; main(['run', '--config', {str(config)!r}])"
        gateway = Peer(sys.executable, ["-c", launch], cwd=tmp)
        await gateway.start()
        try:
            with_ostiary = await _play(gateway, "demo__")
        finally:
            await gateway.close()
        records = await _audit(config)
    for attack, (_, _, prefixes) in zip(attacks, ATTACKS, strict=True):
        attack.without = without[attack.key]
        attack.with_ostiary = with_ostiary[attack.key]
        mine = [r for r in records if str(r.get("code", "")).startswith(prefixes)]
        attack.code = str(mine[0]["code"]) if mine else None
        attack.audit = [f"#{r['seq']} {r['action']} {r['code']} ({r.get('method')})" for r in mine[:1]]
    return attacks


def render(attacks: list[Attack]) -> str:
    lines = []
    for number, attack in enumerate(attacks, 1):
        lines += [
            f"{number}. {attack.title}",
            f"   without Ostiary: {attack.without}",
            f"   with Ostiary:    {attack.with_ostiary}",
            f"   audit log:       {'; '.join(attack.audit) or '(no record)'}",
            "",
        ]
    return "\n".join(lines)


def as_json(attacks: list[Attack]) -> list[dict[str, Any]]:
    return [asdict(a) for a in attacks]


__all__ = [
    "ATTACKS",
    "DEMO_KEY",
    "INJECTED",
    "POISONED",
    "RUG_PULLED",
    "Attack",
    "as_json",
    "render",
    "run_demo",
]
