"""A 2026-07-28 host in front of a 2025-era stdio server that asks it something during a call.

Ostiary parks the server's call and hands the host an InputRequiredResult with a `requestState`
of its own, random; the host answers by retrying with that state. About one state in ninety looks
like a provider's key (`yedh_uNsMV2…`, seen in a failing matrix run), and the secrets inspection
used to redact it in the result: the host's retry then resumed nothing, ran as a new call and, on
a connection where calls that may ask take turns, waited behind the call it was meant to resume,
which waited for the answer the retry carried. Every later call of the session waited too.

Here the gateway is the real `ostiary run` with its default inspections, and only the bridge's
state is pinned to that shape, so the interleaving happens on every run.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mcp_types as t
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import get_default_environment
from mcp.shared.exceptions import MCPError

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

MODERN = "2026-07-28"
# `ostiary run` with the era bridge's requestState pinned to a credential's shape (a counter
# keeps each one unique); everything else is the gateway as installed.
PINNED_STATE_RUN = """
import itertools, sys, types
import ostiary.session.bridge as bridge
count = itertools.count(1)
bridge.secrets = types.SimpleNamespace(
    token_urlsafe=lambda nbytes=None: f"yedh_uNsMV2ObshHMA8iBF59q{next(count):06d}"
)
from ostiary.cli import main
sys.argv[0] = "ostiary"
sys.exit(main())
"""


def _text(result: t.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, t.TextContent))


def _environment() -> dict[str, str]:
    """What an SDK client passes to the gateway, plus the interpreter's PYTHONPATH if the tests
    run the package from a source tree."""
    env = get_default_environment()
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


@pytest.fixture
def gateway_params(peers_dir: Path, write_config: Callable[..., Path]) -> StdioServerParameters:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH; server-everything needs it")
    entry = peers_dir / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
    config = write_config(
        {"servers": {"everything": {"command": node, "args": [str(entry), "stdio"], "prefix": ""}}}
    )
    return StdioServerParameters(
        command=sys.executable,
        args=["-c", PINNED_STATE_RUN, "run", "--config", str(config)],
        env=_environment(),
    )


async def test_a_resume_state_shaped_like_a_credential_still_resumes_the_call(
    gateway_params: StdioServerParameters,
) -> None:
    asked: list[t.CreateMessageRequestParams] = []

    async def sample(_ctx: Any, params: t.CreateMessageRequestParams) -> t.CreateMessageResult:
        asked.append(params)
        return t.CreateMessageResult(
            role="assistant", content=t.TextContent(type="text", text=f"answer {len(asked)}"), model="m"
        )

    async with Client(
        gateway_params, mode=MODERN, sampling_callback=sample, read_timeout_seconds=20
    ) as client:
        first = await client.call_tool("trigger-sampling-request", {"prompt": "first", "maxTokens": 5})
        second = await client.call_tool("trigger-sampling-request", {"prompt": "second", "maxTokens": 6})
        # The connection takes turns between calls that may ask: the session still serves.
        echoed = await client.call_tool("echo", {"message": "still serving"})

    # Each call asked its host once, and its own question: no call was run a second time.
    assert [p.max_tokens for p in asked] == [5, 6]
    assert "answer 1" in _text(first)
    assert "answer 2" in _text(second)
    assert _text(echoed) == "Echo: still serving"


async def test_a_retry_with_a_state_the_gateway_never_gave_is_refused_not_run(
    gateway_params: StdioServerParameters,
) -> None:
    async with Client(gateway_params, mode=MODERN, read_timeout_seconds=20) as client:
        with pytest.raises(MCPError) as refused:
            await client.session.call_tool(
                "echo",
                {"message": "never ran"},
                input_responses={
                    "r1": {"role": "assistant", "content": {"type": "text", "text": "x"}, "model": "m"}
                },
                request_state="yedh_uNsMV2ObshHMA8iBF59qDfkbfD0",
            )
        echoed = await client.call_tool("echo", {"message": "after"})
    assert refused.value.code == -32602
    assert _text(echoed) == "Echo: after"
