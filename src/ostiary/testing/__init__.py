"""A public test kit for inspections: build a message and an exchange, run one hook.

    verdict = await judge(MyInspection(), tool_call("fs", "delete_file", {"path": "/"}))
    assert verdict.code == "my.denied"

Nothing here starts a process or opens a socket; end-to-end tests use the real gateway.
"""

from __future__ import annotations

from typing import Any

from ostiary import messages, methods
from ostiary.identity import Principal
from ostiary.messages import JSON, Message
from ostiary.pipeline import Exchange, Hook, Inspection, Pipeline, Stage, Verdict

ALICE = Principal("alice", frozenset({"engineering"}), method="test")


def exchange(
    method: str,
    server: str | None = "test",
    target: str | None = None,
    principal: Principal = ALICE,
    definition: JSON | None = None,
) -> Exchange:
    return Exchange(principal, "test-session", method, server, target, definition)


def tool_call(
    server: str, tool: str, arguments: JSON | None = None, principal: Principal = ALICE
) -> tuple[Message, Exchange]:
    message = messages.request(1, methods.TOOLS_CALL, {"name": tool, "arguments": arguments or {}})
    return message, exchange(methods.TOOLS_CALL, server, tool, principal)


def tool_result(server: str, tool: str, text: str, structured: Any = None) -> tuple[Message, Exchange]:
    result: JSON = {"content": [{"type": "text", "text": text}]}
    if structured is not None:
        result["structuredContent"] = structured
    return messages.result(1, result), exchange(methods.TOOLS_CALL, server, tool)


def tools_list(server: str, tools: list[JSON]) -> tuple[Message, Exchange]:
    return messages.result(1, {"tools": tools}), exchange(methods.TOOLS_LIST, server)


async def judge(inspection: Inspection, case: tuple[Message, Exchange], hook: Hook | None = None) -> Verdict:
    """Run one hook of one inspection exactly as the pipeline would, including its failure handling."""
    message, ex = case
    if hook is None:
        hook = Hook.CLIENT_REQUEST if message.is_request else Hook.SERVER_RESPONSE
    decision = await Pipeline([Stage(inspection)]).run(hook, message, ex)
    return decision.verdicts[-1] if decision.verdicts else decision.verdict
