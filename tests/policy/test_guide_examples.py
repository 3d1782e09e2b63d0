"""The worked examples in docs/policy.md compile and decide what the guide says they decide."""

from __future__ import annotations

import re
from pathlib import Path

from ostiary.identity import Principal
from ostiary.policy import CompiledPolicy, Effect, Request, parse

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def examples() -> list[CompiledPolicy]:
    blocks = re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(), re.S)
    return [parse(block, "docs/policy.md") for block in blocks if "rules:" in block]


def test_every_policy_in_the_guide_compiles() -> None:
    assert len(examples()) == 3


def test_the_developer_example_decides_as_the_guide_says() -> None:
    policy = examples()[1]
    dana = Principal("dana", frozenset({"owner"}), method="config")
    inside = Request("tool", "fs", "write_file", {"path": "/home/dana/projects/app/x.py"})
    outside = Request("tool", "fs", "write_file", {"path": "/home/dana/projects/../.ssh/config"})
    assert policy.evaluate(dana, inside).effect is Effect.ALLOW
    assert policy.evaluate(dana, outside).effect is Effect.DENY
    assert (
        policy.evaluate(dana, Request("tool", "fs", "read_file", {"path": "/etc/x"})).effect is Effect.ALLOW
    )
    assert policy.visible(dana, Request("tool", "git", "git_reset")) is False
    new_tool = Request("tool", "memory", "create_entities", {}, {}, annotations_trusted=True)
    assert policy.evaluate(dana, new_tool).effect is Effect.DENY
    read_only = Request("tool", "memory", "read_graph", {}, {"readOnlyHint": True}, annotations_trusted=True)
    assert policy.evaluate(dana, read_only).effect is Effect.ALLOW


def test_the_platform_example_decides_as_the_guide_says() -> None:
    policy = examples()[2]
    contractor = Principal("c", frozenset({"contractors"}), method="jwt")
    support = Principal("s", frozenset({"support"}), method="jwt")
    bot = Principal("svc", client_id="reports", method="api_key")
    docs = Request("tool", "docs", "search", {}, {"readOnlyHint": True}, annotations_trusted=True)
    wiki = Request("tool", "wiki", "search", {}, {"readOnlyHint": True}, annotations_trusted=True)
    assert policy.evaluate(contractor, docs).effect is Effect.ALLOW
    assert policy.evaluate(contractor, wiki).effect is Effect.DENY
    assert policy.evaluate(support, wiki).effect is Effect.ALLOW
    inside = Request("tool", "mail", "send_email", {"to": ["a@example.com"]})
    outside = Request("tool", "mail", "send_email", {"to": ["a@example.com", "b@customer.test"]})
    assert policy.evaluate(support, inside).effect is Effect.ALLOW
    assert policy.evaluate(support, outside).effect is Effect.APPROVE
    assert (
        policy.evaluate(bot, Request("tool", "db", "run_query", {"sql": " SELECT 1"})).effect is Effect.ALLOW
    )
    assert (
        policy.evaluate(bot, Request("tool", "db", "run_query", {"sql": "DELETE FROM t"})).effect
        is Effect.DENY
    )
    assert policy.evaluate(bot, Request("tool", "db", "drop_table", {})).rule_id == "nobody-drops-tables"
