"""Many hosts at once on one HTTP endpoint: each host's calls, and each server->client request the
server makes while serving that host, reach that host and no other.

Directly, server-everything keeps one session per host; through `ostiary serve` the gateway must
keep the hosts apart itself (ids, sessions, and whom a sampling request belongs to).
"""

from __future__ import annotations

import anyio
import pytest

from .checks import HostCallbacks, text_of
from .topology import EVERYTHING_LEGS, Leg, Server, Topology

SERVER = "everything"
LEGS = tuple(leg for leg in EVERYTHING_LEGS if leg.front == "http" and leg.back != "sse")
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

HOSTS = 8


async def test_each_of_eight_concurrent_hosts_gets_its_own_answers_and_sampling_requests(
    topology: Topology, leg: Leg, server: Server
) -> None:
    hosts = [HostCallbacks(sampled_text=f"answer of host {i}") for i in range(HOSTS)]
    echoes: dict[int, list[str]] = {}
    sampled: dict[int, str] = {}

    async def host(i: int) -> None:
        async with topology.client(leg, server, **hosts[i].options()) as client:

            async def echo(k: int) -> None:
                result = await client.call_tool("echo", {"message": f"host {i} call {k}"})
                echoes.setdefault(i, []).append(text_of(result))

            async with anyio.create_task_group() as group:
                for k in range(4):
                    group.start_soon(echo, k)
                arguments = {"prompt": f"question of host {i}", "maxTokens": 10 + i}
                sampled[i] = text_of(await client.call_tool("trigger-sampling-request", arguments))

    async with anyio.create_task_group() as group:
        for i in range(HOSTS):
            group.start_soon(host, i)

    for i in range(HOSTS):
        assert sorted(echoes[i]) == [f"Echo: host {i} call {k}" for k in range(4)]
        assert len(hosts[i].sampling) == 1, f"host {i} was asked {len(hosts[i].sampling)} times"
        asked = hosts[i].sampling[0]
        assert asked.max_tokens == 10 + i
        assert any(f"question of host {i}" in getattr(m.content, "text", "") for m in asked.messages)
        assert f"answer of host {i}" in sampled[i]
