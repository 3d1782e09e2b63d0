"""The learned tier end to end: the reference filesystem server (npm) behind `ostiary run`,
read by the official SDK client. A file whose injected paragraph the rules let through is
blocked by the model; with `detectors.model: off` the same file passes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from ostiary.detection import learned
from ostiary.detection.injection import InjectionDetector

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

GATEWAY_DENIED = -32010
CORPUS = Path(__file__).parents[2] / "eval" / "corpus" / "injection.jsonl"


def model_only_attack() -> str:
    model = learned.LinearModel.load(learned.shipped("injection"))
    rules = InjectionDetector()
    for line in CORPUS.read_text().split("\n"):
        item = json.loads(line) if line else {}
        text = str(item.get("text", ""))
        if (
            item.get("label") == "malicious"
            and item.get("origin") != "written"
            and 200 < len(text) < 3000
            and not rules.scan(text).flagged
            and model.score(text).probability >= model.thresholds["fpr1"] + 0.05
        ):
            return text
    raise AssertionError("the shipped model flags nothing the rules miss")


@pytest.fixture
def setup(tmp_path: Path, peers_dir: Path, write_config: Callable[..., Path]) -> Callable[[str], Path]:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "notes.md").write_text(model_only_attack(), encoding="utf-8")
    (root / "plain.md").write_text("Meeting moved to Thursday at ten; agenda unchanged.\n", encoding="utf-8")
    node = shutil.which("node")
    assert node is not None
    entry = str(peers_dir / "@modelcontextprotocol" / "server-filesystem" / "dist" / "index.js")

    def make(mode: str) -> Path:
        spec: dict[str, Any] = {
            "servers": {"files": {"command": node, "args": [entry, str(root)]}},
            "inspections": [{"name": "injection", "action": "block"}],
            "detectors": {"model": mode},
            "denials": "error",  # the refusal's code read from the JSON-RPC error
        }
        return write_config(spec)

    return make


def gateway(ostiary_command: list[str], config: Path) -> Client:
    command, *prefix = ostiary_command
    return Client(StdioServerParameters(command=command, args=[*prefix, "run", "--config", str(config)]))


async def test_a_result_only_the_model_flags_is_blocked_and_a_plain_one_passes(
    ostiary_command: list[str], setup: Callable[[str], Path], tmp_path: Path
) -> None:
    async with gateway(ostiary_command, setup("on")) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        read = "files__read_text_file" if "files__read_text_file" in tools else "files__read_file"
        plain = await client.call_tool(read, {"path": str(tmp_path / "docs" / "plain.md")})
        assert "Thursday" in plain.content[0].text  # type: ignore[union-attr]
        with pytest.raises(MCPError) as raised:
            await client.call_tool(read, {"path": str(tmp_path / "docs" / "notes.md")})
    assert raised.value.code == GATEWAY_DENIED
    assert raised.value.error.data["code"] == "injection.blocked"


async def test_with_the_model_off_the_same_result_passes(
    ostiary_command: list[str], setup: Callable[[str], Path], tmp_path: Path
) -> None:
    async with gateway(ostiary_command, setup("off")) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        read = "files__read_text_file" if "files__read_text_file" in tools else "files__read_file"
        result = await client.call_tool(read, {"path": str(tmp_path / "docs" / "notes.md")})
    assert result.content
