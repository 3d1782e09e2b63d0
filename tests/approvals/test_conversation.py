"""`approvers: [self]` on a desktop host: Ostiary asks the host's user in the conversation, through
elicitation (2025-era) or an InputRequiredResult (2026-07-28), and the answer decides the call.

The host is the official SDK client; the server is the real `mcp-server-time`."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mcp_types as t
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from approvals.gateways import HELD_ARGS, HELD_TOOL, approval_events, serve, stdio

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]
GATEWAY_DENIED = -32010
ERAS = ["legacy", "2026-07-28"]


def answering(action: str, seen: list[str], delay: float = 0.0) -> Any:
    async def callback(ctx: Any, params: Any) -> t.ElicitResult:
        seen.append(params.message)
        if delay:
            await asyncio.sleep(delay)
        content = {"reason": "looks fine"} if action == "accept" else None
        return t.ElicitResult(action=action, content=content)

    return callback


@pytest.mark.parametrize("era", ERAS)
async def test_the_host_user_accepting_in_the_conversation_lets_the_call_run(
    era: str, held_gateway: Callable[..., Path], ostiary_command: list[str]
) -> None:
    config = held_gateway(["self"])
    seen: list[str] = []
    async with Client(
        stdio(config, ostiary_command), mode=era, elicitation_callback=answering("accept", seen)
    ) as c:
        result = await c.call_tool(HELD_TOOL, HELD_ARGS)
    assert not result.is_error
    assert "Europe/Paris" in result.content[0].text  # type: ignore[union-attr]
    assert len(seen) == 1
    assert "convert_time" in seen[0] and "Europe/Paris" in seen[0]
    records = approval_events(ostiary_command, config)
    codes = [r["code"] for r in records]
    assert codes[:2] == ["approval.requested", "approval.approved"]
    decided = records[1]
    assert decided["principal"] == getpass.getuser()
    assert decided["approval"]["channel"] == "conversation:accept"
    assert decided["approval"]["decision_reason"] == "looks fine"


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize(("action", "code"), [("decline", "approval.denied"), ("cancel", "approval.denied")])
async def test_the_host_user_declining_or_cancelling_refuses_the_call(
    era: str, action: str, code: str, held_gateway: Callable[..., Path], ostiary_command: list[str]
) -> None:
    config = held_gateway(["self"])
    seen: list[str] = []
    async with Client(
        stdio(config, ostiary_command), mode=era, elicitation_callback=answering(action, seen)
    ) as c:
        with pytest.raises(MCPError) as refused:
            await c.call_tool(HELD_TOOL, HELD_ARGS)
    assert refused.value.error.code == GATEWAY_DENIED
    assert refused.value.error.data["code"] == code
    decided = approval_events(ostiary_command, config)[1]
    assert decided["code"] == "approval.denied"
    assert decided["approval"]["channel"] == f"conversation:{action}"


@pytest.mark.parametrize("era", ERAS)
async def test_an_unanswered_question_expires_and_the_call_is_refused(
    era: str, held_gateway: Callable[..., Path], ostiary_command: list[str]
) -> None:
    config = held_gateway(["self"], expires=1.5)
    seen: list[str] = []
    slow = answering("accept", seen, delay=4)
    async with Client(stdio(config, ostiary_command), mode=era, elicitation_callback=slow) as c:
        if era == "legacy":
            with pytest.raises(MCPError) as refused:
                await c.call_tool(HELD_TOOL, HELD_ARGS)
            assert refused.value.error.data["code"] == "approval.expired"
        else:
            # The 2026-07-28 client holds the question itself; once it answers, too late, the retry
            # finds the request expired.
            task = asyncio.create_task(c.call_tool(HELD_TOOL, HELD_ARGS))
            with pytest.raises(MCPError) as refused:
                await asyncio.wait_for(task, 60)
            assert refused.value.error.data["code"] in ("approval.expired",)
    codes = [r["code"] for r in approval_events(ostiary_command, config)]
    assert "approval.approved" not in codes


async def test_an_accepted_answer_replayed_with_changed_arguments_or_twice_is_refused(
    held_gateway: Callable[..., Path], ostiary_command: list[str]
) -> None:
    config = held_gateway(["self"])
    seen: list[str] = []
    async with Client(
        stdio(config, ostiary_command), mode="2026-07-28", elicitation_callback=answering("accept", seen)
    ) as client:
        asked = await client.session.call_tool(HELD_TOOL, HELD_ARGS, allow_input_required=True)
        assert isinstance(asked, t.InputRequiredResult)
        assert asked.input_requests is not None and asked.request_state is not None
        accept = {key: t.ElicitResult(action="accept") for key in asked.input_requests}
        changed = {**HELD_ARGS, "target_timezone": "Asia/Tokyo"}
        with pytest.raises(MCPError) as mismatch:
            await client.call_tool(
                HELD_TOOL, changed, input_responses=accept, request_state=asked.request_state
            )
        assert mismatch.value.error.data["code"] == "approval.mismatch"
        ran = await client.call_tool(
            HELD_TOOL, HELD_ARGS, input_responses=accept, request_state=asked.request_state
        )
        assert not ran.is_error and "Europe/Paris" in ran.content[0].text  # type: ignore[union-attr]
        with pytest.raises(MCPError) as replayed:
            await client.call_tool(
                HELD_TOOL, HELD_ARGS, input_responses=accept, request_state=asked.request_state
            )
        assert replayed.value.error.data["code"] == "approval.used"


async def test_on_a_desktop_gateway_with_no_approvers_named_the_user_is_asked(
    held_gateway: Callable[..., Path], ostiary_command: list[str]
) -> None:
    """`ostiary run` authenticates nobody: its user is the only person who could approve."""
    config = held_gateway([])
    seen: list[str] = []
    async with Client(
        stdio(config, ostiary_command), mode="legacy", elicitation_callback=answering("accept", seen)
    ) as c:
        result = await c.call_tool(HELD_TOOL, HELD_ARGS)
    assert not result.is_error and len(seen) == 1


@pytest.mark.parametrize("era", ERAS)
async def test_over_http_the_host_user_is_asked_the_same_way(
    era: str, held_gateway: Callable[..., Path], ostiary_command: list[str], spawn: Any
) -> None:
    config = held_gateway(["self"])
    base = serve(spawn, ostiary_command, config)
    seen: list[str] = []
    async with Client(f"{base}/mcp", mode=era, elicitation_callback=answering("decline", seen)) as client:
        with pytest.raises(MCPError) as refused:
            await client.call_tool(HELD_TOOL, HELD_ARGS)
    assert refused.value.error.data["code"] == "approval.denied" and len(seen) == 1
