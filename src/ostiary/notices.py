"""What the gateway itself tells a client about servers it could not start or reach.

A desktop host hides the gateway's stderr, so a server that cannot start would otherwise just
leave the tool list empty. The client is told three ways: a `notifications/message` at level
`error` (hosts log or show it), a line in the handshake's `instructions` (the model reads it and
can tell the user), and `_meta["ostiary/unavailable"]` on every list result (for scripts).
"""

from __future__ import annotations

from ostiary import messages, methods
from ostiary.messages import Kind, Message
from ostiary.secretref import REDACTOR

META_KEY = "ostiary/unavailable"
LOGGER = "ostiary"


def server_unavailable(server: str, reason: str) -> Message:
    text = f"Ostiary: server {server!r} is unavailable: {REDACTOR(reason)}"
    return messages.notification(methods.MESSAGE, {"level": "error", "logger": LOGGER, "data": text})


def unavailable_text(unavailable: dict[str, str]) -> str | None:
    if not unavailable:
        return None
    lines = [f"- {name}: {REDACTOR(reason)}" for name, reason in unavailable.items()]
    return (
        "Ostiary could not start or reach these servers, so their tools are missing "
        "(`ostiary doctor` shows how to fix it):\n" + "\n".join(lines)
    )


def with_unavailable(response: Message, unavailable: dict[str, str]) -> Message:
    """A list result that says which servers are missing from it, and why."""
    if not unavailable or response.kind is not Kind.RESULT:
        return response
    result = response.result
    meta = result.get("_meta")
    reasons = {name: REDACTOR(reason) for name, reason in unavailable.items()}
    merged = {**(meta if isinstance(meta, dict) else {}), META_KEY: reasons}
    return response.with_result({**result, "_meta": merged})
