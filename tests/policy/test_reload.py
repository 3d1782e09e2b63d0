"""Hot reload: a changed file is put in force whole, a bad one keeps the last good policy, and
calls made while the file is being rewritten are each decided by one policy or the other."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from ostiary import config as config_module
from ostiary import messages
from ostiary.inspections import build_stages
from ostiary.inspections.policy import PolicyInspection
from ostiary.pipeline import Hook, Pipeline
from ostiary.policy.reload import PolicySource
from policy.policies import ALICE, call, exchange

FILLER = "".join(
    f"  - {{id: filler-{i}, effect: deny, servers: [other], tools: [t{i}]}}\n" for i in range(50)
)
POLICY_A = "rules:\n  - {id: a-allow-x, effect: allow, servers: [s], tools: [x]}\n" + FILLER
POLICY_B = (
    "rules:\n  - {id: b-allow-y, effect: allow, servers: [s], tools: [y], when: 'args.n < 5'}\n"
    "  - {id: b-deny-x, effect: deny, servers: [s], tools: [x]}\n" + FILLER
)
BAD = "rules:\n  - {id: broken, effect: allow, when: 'args.('}\n"
TOOLS = [{"name": "x"}, {"name": "y"}]
# What each policy, taken whole, says: (tools listed, code for x, code for y).
EXPECTED = {
    "A": (["x"], "allow", "policy.denied"),
    "B": (["y"], "policy.denied", "allow"),
}


def replace_file(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


async def test_calls_during_reloads_are_each_decided_by_one_whole_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_A)
    cfg = config_module.parse(
        "servers: {s: {command: s}}\ninspections: [{name: policy, file: policy.yaml, interval: 0.01}]\n",
        "ostiary.yaml",
        str(tmp_path),
    )
    pipeline = Pipeline(build_stages(cfg))
    inspection = pipeline.stages[0].inspection
    assert isinstance(inspection, PolicyInspection)
    await pipeline.start()
    seen: set[str] = set()
    stop = asyncio.Event()

    async def client() -> None:
        while not stop.is_set():
            listing = await pipeline.run(
                Hook.SERVER_RESPONSE, messages.result(1, {"tools": TOOLS}), exchange(ALICE, "tools/list", "s")
            )
            names = [t["name"] for t in listing.message.result["tools"]]
            x = (
                await pipeline.run(Hook.CLIENT_REQUEST, call("x"), exchange(ALICE, "tools/call", "s", "x"))
            ).verdict
            y = (
                await pipeline.run(
                    Hook.CLIENT_REQUEST, call("y", {"n": 1}), exchange(ALICE, "tools/call", "s", "y")
                )
            ).verdict
            # Each single decision must be one policy's; the listing touches both rules at once.
            assert names in (EXPECTED["A"][0], EXPECTED["B"][0])
            assert x.code in ("allow", "policy.denied")
            assert y.code in ("allow", "policy.denied")
            assert x.details.get("rule") in (None, "b-deny-x")
            seen.add("A" if names == ["x"] else "B")
            # Yield for a moment, as a gateway between messages does: a loop that never idles
            # starves the reload thread of the GIL, which no real traffic pattern does.
            await asyncio.sleep(0.001)

    async def editor() -> None:
        for text in [POLICY_B, BAD, POLICY_A, POLICY_B, BAD, POLICY_A, POLICY_B]:
            await asyncio.to_thread(replace_file, path, text)
            await asyncio.sleep(0.3)
        stop.set()

    try:
        await asyncio.wait_for(asyncio.gather(editor(), *(client() for _ in range(4))), timeout=20)
    finally:
        await pipeline.close()
    assert seen == {"A", "B"}
    assert inspection.source.generation >= 3
    # The file ends as B: after the last reload, every decision is B's.
    assert inspection.source.current.document.rules[0].id == "b-allow-y"


async def test_a_bad_file_keeps_the_last_good_policy_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_A)
    source = PolicySource(path, settle=0.0)
    replace_file(path, BAD)
    with caplog.at_level(logging.WARNING, logger="ostiary.policy"):
        assert await source.check() is False
    assert source.current.document.rules[0].id == "a-allow-x"
    assert source.last_error is not None
    assert "line 2" in source.last_error
    assert any("last good policy stays in force" in r.getMessage() for r in caplog.records)
    replace_file(path, POLICY_B)
    assert await source.check() is True
    assert source.last_error is None
    assert source.current.document.rules[0].id == "b-allow-y"


async def test_a_file_that_is_still_changing_is_not_applied(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_A)
    source = PolicySource(path, settle=0.05)

    checked = asyncio.Event()

    async def keep_writing() -> None:
        # An editor still saving: a new version every few milliseconds until the check is over,
        # however long a loaded machine makes the check's reads take.
        edit = 0
        while not checked.is_set():
            path.write_text(POLICY_B + f"# edit {edit}\n")
            edit += 1
            await asyncio.sleep(0.005)

    writer = asyncio.create_task(keep_writing())
    applied = await source.check()
    checked.set()
    await writer
    assert applied is False
    assert source.current.document.rules[0].id == "a-allow-x"
    assert await source.check() is True


def test_a_policy_that_cannot_be_loaded_at_start_stops_the_gateway(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(BAD)
    cfg = config_module.parse(
        "inspections: [{name: policy, file: policy.yaml}]\n", "ostiary.yaml", str(tmp_path)
    )
    with pytest.raises(config_module.ConfigError, match=r"rules\.0\.when"):
        build_stages(cfg)


async def test_an_emptied_policy_file_is_not_applied(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_A)
    source = PolicySource(path, settle=0.01)
    path.write_text("\n")  # an editor's save caught between truncating and writing
    assert await source.check() is False
    assert source.current.document.rules[0].id == "a-allow-x"
    assert source.last_error is not None and "empty" in source.last_error
    path.write_text(POLICY_B)
    assert await source.check() is True
