"""The official TypeScript SDK client as the host: what it observes talking to server-everything
directly must be what it observes through Ostiary, on every gateway route.

The TS client (tests/clients/ts_client.mjs) runs one scenario and prints its observations as JSON;
each route is compared with the direct run on the same wire, key by key.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .topology import EVERYTHING_LEGS, Leg, Server, Topology, direct, node_binary

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

SCRIPT = Path(__file__).resolve().parents[2] / "clients" / "ts_client.mjs"
# The TypeScript SDK 1.32.2 negotiates 2025-11-25 only.
TS_LEGS = tuple(leg for leg in EVERYTHING_LEGS if leg.client_era == "legacy" and leg.back != "sse")
THROUGH = tuple(leg for leg in TS_LEGS if leg.gateway)
RUN_TIMEOUT_SECONDS = 60


@pytest.fixture(scope="module")
def topology(make_topology: Any, everything: Server) -> Topology:
    return make_topology([(everything, TS_LEGS)], hold=False)


def target_of(topology: Topology, leg: Leg, server: Server) -> dict[str, Any]:
    """Where the TS host connects for `leg`: a command it launches, or a URL."""
    if leg.front == "http":
        return {"url": topology.url_of(leg, server)}
    if not leg.gateway:
        return {"command": server.command, "args": list(server.args), "env": dict(server.env)}
    config = topology.gateway_config({server.name: topology.entry(server, leg.back, leg.upstream_era)})
    return {"command": topology.ostiary[0], "args": [*topology.ostiary[1:], "run", "--config", str(config)]}


def observe(topology: Topology, leg: Leg, server: Server, peers_dir: Path) -> dict[str, Any]:
    request = {"scenario": "everything", "target": target_of(topology, leg, server)}
    env = {**os.environ, "OSTIARY_PEERS": str(peers_dir.parent)}
    done = subprocess.run(
        [node_binary(), str(SCRIPT), json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        env=env,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"the TS host printed nothing (exit {done.returncode}); stderr:\n{done.stderr[-3000:]}"
    observations: dict[str, Any] = json.loads(lines[-1])
    assert "fatal" not in observations, f"{observations['fatal']}\nstderr:\n{done.stderr[-3000:]}"
    return normalised(observations)


def normalised(observations: dict[str, Any]) -> dict[str, Any]:
    """Progress timing varies run to run (the last notification may race the result); its shape does not."""
    progress = observations.get("progress")
    if isinstance(progress, dict) and "seen" in progress:
        values = [p for p, _ in progress["seen"]]
        progress["seen"] = {
            "increasing": values == sorted(set(values)),
            "at_least_two": len(values) >= 2,
            "within_total": all(p <= total for p, total in progress["seen"]),
        }
    return observations


def assert_works(observations: dict[str, Any]) -> None:
    """What the scenario must observe on any route, so a baseline that is itself broken fails too."""
    assert observations["echo256KiB"] == {"bytes": 256 * 1024, "intact": True}
    assert observations["concurrent16"] == [True] * 16
    assert observations["tools"]["outputSchema"]["required"] == ["temperature", "conditions", "humidity"]
    assert observations["structured"] == {"temperature": 33, "conditions": "Cloudy", "humidity": 82}
    assert observations["completion"] == [["Sales", "Support"], ["John", "Kim", "Lee"]]
    progress_shape = {"increasing": True, "at_least_two": True, "within_total": True}
    assert observations["progress"]["seen"] == progress_shape
    assert observations["cancellation"] == {"outcome": "aborted", "back": True, "after": "Echo: after cancel"}
    assert observations["sampling"] == {"maxTokens": 21, "answered": True}
    assert observations["elicitation"] == {"modes": ["form", "url"], "form": True, "url": True}
    assert observations["roots"] is True
    assert observations["unknownMethod"] == {"code": -32601}
    assert observations["unknownTool"]["isError"] is True


@pytest.fixture(scope="module")
def baselines(topology: Topology, everything: Server, peers_dir: Path) -> dict[str, dict[str, Any]]:
    """The TS host's observations directly against the server, on stdio and on HTTP."""
    return {wire: observe(topology, direct(wire), everything, peers_dir) for wire in ("stdio", "http")}


@pytest.mark.parametrize("leg", [direct("stdio"), direct("http")], ids=lambda leg: leg.id)
def test_the_ts_host_sees_every_behaviour_working_directly(
    baselines: dict[str, dict[str, Any]], leg: Leg
) -> None:
    assert_works(baselines[leg.front])


@pytest.mark.parametrize("leg", THROUGH, ids=lambda leg: leg.id)
def test_the_ts_host_observes_through_ostiary_exactly_what_it_observes_directly(
    topology: Topology, leg: Leg, everything: Server, peers_dir: Path, baselines: dict[str, dict[str, Any]]
) -> None:
    through = observe(topology, leg, everything, peers_dir)
    baseline = baselines[leg.back]
    differences = {
        key: {"direct": baseline.get(key), "through": through.get(key)}
        for key in sorted(set(baseline) | set(through))
        if baseline.get(key) != through.get(key)
    }
    assert not differences, json.dumps(differences, indent=1, ensure_ascii=False)[:4000]
    assert_works(through)
