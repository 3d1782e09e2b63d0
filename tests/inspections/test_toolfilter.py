"""The configured tool allow/deny lists: what a call is allowed, however often it is made."""

from __future__ import annotations

from ostiary.config import ToolFilter
from ostiary.inspections import toolfilter
from ostiary.inspections.toolfilter import ToolFilterInspection
from ostiary.pipeline import Action
from ostiary.testing import judge, tool_call, tools_list

RULES = {
    "fs": ToolFilter(allow=["read_*", "list_*", "write_file"], deny=["write_*"]),
    "git": ToolFilter(),
}


async def _allowed(inspection: ToolFilterInspection, server: str, tool: str) -> bool:
    verdict = await judge(inspection, tool_call(server, tool))
    assert verdict.action in (Action.ALLOW, Action.DENY)
    if verdict.action is Action.DENY:
        assert verdict.code == toolfilter.DENIED
    return verdict.action is Action.ALLOW


async def test_deny_wins_over_allow_and_unlisted_tools_are_refused_on_every_call() -> None:
    inspection = ToolFilterInspection(RULES)
    for _ in range(3):  # the first answer is remembered; later calls must get the same one
        assert await _allowed(inspection, "fs", "read_file")
        assert not await _allowed(inspection, "fs", "write_file")
        assert not await _allowed(inspection, "fs", "delete_file")
        assert await _allowed(inspection, "git", "git_status")
        assert await _allowed(inspection, "other", "anything")  # a server without rules


async def test_the_same_tool_name_is_judged_per_server() -> None:
    inspection = ToolFilterInspection(RULES)
    assert await _allowed(inspection, "git", "write_notes")
    assert not await _allowed(inspection, "fs", "write_notes")
    assert await _allowed(inspection, "git", "write_notes")


async def test_a_client_inventing_tool_names_cannot_grow_the_gateways_memory() -> None:
    inspection = ToolFilterInspection(RULES)
    for n in range(toolfilter.REMEMBERED_CALLS * 2 + 10):
        assert not await _allowed(inspection, "fs", f"made_up_{n}")
    assert len(inspection._calls) <= toolfilter.REMEMBERED_CALLS
    assert await _allowed(inspection, "fs", "read_file")
    assert not await _allowed(inspection, "fs", "write_file")


async def test_denied_tools_are_hidden_from_the_list() -> None:
    inspection = ToolFilterInspection(RULES)
    tools = [{"name": "read_file"}, {"name": "write_file"}, {"name": "list_dir"}]
    verdict = await judge(inspection, tools_list("fs", tools))
    assert verdict.action is Action.MODIFY
    assert verdict.replacement is not None
    assert [t["name"] for t in verdict.replacement.result["tools"]] == ["read_file", "list_dir"]
