"""The policy inspection in a real pipeline: for several principals, exactly which tools are listed
and which calls go through, with stable codes for every refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ostiary import config as config_module
from ostiary import messages
from ostiary.identity import Principal
from ostiary.inspections import build_stages
from ostiary.pipeline import Action, Hook, Pipeline
from policy.policies import ALICE, BOB, CAROL, FS_TOOLS, MAIL_TOOLS, OPS, TEAM_POLICY, call, exchange


def make_pipeline(tmp_path: Path, mode: str = "enforce") -> Pipeline:
    (tmp_path / "policy.yaml").write_text(TEAM_POLICY)
    text = f"""
servers:
  fs: {{command: fs-server}}
  mail: {{url: "http://127.0.0.1:9/mcp"}}
  deploy: {{command: deploy-server}}
inspections:
  - {{name: policy, file: policy.yaml, watch: false, mode: {mode}}}
"""
    cfg = config_module.parse(text, "ostiary.yaml", str(tmp_path))
    return Pipeline(build_stages(cfg))


async def listed(
    pipeline: Pipeline, principal: Principal, server: str, tools: list[dict[str, Any]]
) -> list[str]:
    response = messages.result(1, {"tools": tools})
    decision = await pipeline.run(Hook.SERVER_RESPONSE, response, exchange(principal, "tools/list", server))
    assert decision.forwarded
    return [t["name"] for t in decision.message.result["tools"]]


async def decide(
    pipeline: Pipeline, principal: Principal, server: str, tool: str, args: dict[str, Any]
) -> str:
    decision = await pipeline.run(
        Hook.CLIENT_REQUEST, call(tool, args), exchange(principal, "tools/call", server, tool)
    )
    return decision.verdict.code


@pytest.mark.parametrize(
    ("principal", "fs", "mail"),
    [
        (ALICE, ["read_file", "list_directory", "write_file"], ["send_email"]),
        (BOB, ["read_file", "list_directory"], ["send_email"]),
        (CAROL, [], ["send_email"]),
        (OPS, ["read_file", "list_directory"], []),
    ],
    ids=["dev", "support", "contractor", "service-account"],
)
async def test_each_principal_is_shown_exactly_the_tools_it_may_call(
    tmp_path: Path, principal: Principal, fs: list[str], mail: list[str]
) -> None:
    pipeline = make_pipeline(tmp_path)
    assert await listed(pipeline, principal, "fs", FS_TOOLS) == fs
    assert await listed(pipeline, principal, "mail", MAIL_TOOLS) == mail


CALLS = [
    # principal, server, tool, arguments, expected code
    (ALICE, "fs", "read_file", {"path": "/etc/hosts"}, "allow"),
    (ALICE, "fs", "write_file", {"path": "/srv/data/notes.txt"}, "allow"),
    (ALICE, "fs", "write_file", {"path": "/srv/data/../../home/alice/.ssh/authorized_keys"}, "policy.denied"),
    (ALICE, "fs", "delete_file", {"path": "/srv/data/notes.txt"}, "policy.denied"),
    (ALICE, "mail", "send_email", {"to": ["ann@example.com"]}, "allow"),
    (ALICE, "mail", "send_email", {"to": ["eve@evil.test"]}, "policy.denied"),
    # No approval service is configured, so a hold ends as a denial with its own code.
    (BOB, "mail", "send_email", {"to": ["ann@example.com"]}, "approval.unavailable"),
    (BOB, "fs", "write_file", {"path": "/srv/data/x"}, "policy.denied"),
    (CAROL, "fs", "read_file", {"path": "/srv/data/x"}, "policy.denied"),
    (CAROL, "fs", "write_file", {"path": "/srv/data/x"}, "policy.denied"),
    (
        OPS,
        "deploy",
        "run",
        {"password": "hunter2-secret", "env": {"TOKEN": "t0ken-value"}},
        "policy.redacted",
    ),
]


@pytest.mark.parametrize(("principal", "server", "tool", "args", "code"), CALLS)
async def test_each_call_is_decided_with_a_stable_code(
    tmp_path: Path, principal: Principal, server: str, tool: str, args: dict[str, Any], code: str
) -> None:
    assert await decide(make_pipeline(tmp_path), principal, server, tool, args) == code


async def test_a_denial_names_the_rule_but_never_the_arguments(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    secret_path = "/srv/data/../../root/very-private-file"
    decision = await pipeline.run(
        Hook.CLIENT_REQUEST,
        call("write_file", {"path": secret_path}),
        exchange(CAROL, "tools/call", "fs", "write_file"),
    )
    assert decision.verdict.action is Action.DENY
    assert decision.verdict.details["rule"] == "contractors-no-files"
    assert "contractors-no-files" in decision.verdict.reason
    assert "very-private-file" not in repr(decision.verdict)


async def test_a_redact_rule_replaces_the_named_fields_and_keeps_the_rest(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    args = {"password": "hunter2-secret", "env": {"TOKEN": "t0ken-value", "REGION": "eu"}, "app": "web"}
    decision = await pipeline.run(
        Hook.CLIENT_REQUEST, call("run", args), exchange(OPS, "tools/call", "deploy", "run")
    )
    sent = decision.message.params["arguments"]
    assert sent == {"password": "[REDACTED]", "env": {"TOKEN": "[REDACTED]", "REGION": "eu"}, "app": "web"}
    assert args["password"] == "hunter2-secret"  # the original message is not mutated
    assert "hunter2-secret" not in repr(decision.verdict)


async def test_monitor_mode_records_what_would_be_denied_but_lets_it_through(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path, mode="monitor")
    decision = await pipeline.run(
        Hook.CLIENT_REQUEST,
        call("delete_file", {"path": "/x"}),
        exchange(ALICE, "tools/call", "fs", "delete_file"),
    )
    assert decision.forwarded
    assert [v.code for v in decision.monitored] == ["policy.denied"]
    listing = await pipeline.run(
        Hook.SERVER_RESPONSE, messages.result(1, {"tools": FS_TOOLS}), exchange(CAROL, "tools/list", "fs")
    )
    assert len(listing.message.result["tools"]) == len(FS_TOOLS)
    assert [v.code for v in listing.monitored] == ["policy.filtered"]


async def test_an_aggregated_list_is_filtered_by_namespaced_names(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    tools = [{**t, "name": f"fs__{t['name']}"} for t in FS_TOOLS] + [{"name": "mail__send_email"}]
    tools.append({"name": "unknown__tool"})
    response = messages.result(1, {"tools": tools, "nextCursor": "c2"})
    decision = await pipeline.run(Hook.SERVER_RESPONSE, response, exchange(BOB, "tools/list", None))
    assert [t["name"] for t in decision.message.result["tools"]] == [
        "fs__read_file",
        "fs__list_directory",
        "mail__send_email",
    ]
    assert decision.message.result["nextCursor"] == "c2"


async def test_a_call_whose_server_is_unknown_is_refused(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    decision = await pipeline.run(Hook.CLIENT_REQUEST, call("x"), exchange(ALICE, "tools/call", None, "x"))
    assert decision.verdict.code == "policy.denied"


async def test_resources_and_prompts_are_decided_and_filtered_like_tools(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(
        """
defaults: {read_only: deny, other: deny}
rules:
  - {id: public-docs, effect: allow, servers: [wiki], resources: ["wiki://public/*"]}
  - {id: support-prompts, effect: allow, principals: {groups: [support]}, servers: [wiki], prompts: ["*"]}
"""
    )
    cfg = config_module.parse(
        "servers: {wiki: {command: wiki}}\ninspections: [{name: policy, file: policy.yaml}]\n",
        "ostiary.yaml",
        str(tmp_path),
    )
    pipeline = Pipeline(build_stages(cfg))
    read = messages.request(2, "resources/read", {"uri": "wiki://private/salaries"})
    denied = await pipeline.run(
        Hook.CLIENT_REQUEST, read, exchange(BOB, "resources/read", "wiki", "wiki://private/salaries")
    )
    assert denied.verdict.code == "policy.denied"
    listing = messages.result(
        3,
        {
            "resources": [
                {"uri": "wiki://public/faq", "name": "faq"},
                {"uri": "wiki://private/x", "name": "x"},
            ]
        },
    )
    shown = await pipeline.run(Hook.SERVER_RESPONSE, listing, exchange(ALICE, "resources/list", None))
    assert [r["uri"] for r in shown.message.result["resources"]] == ["wiki://public/faq"]
    prompt = messages.request(4, "prompts/get", {"name": "triage", "arguments": {}})
    assert (
        await pipeline.run(Hook.CLIENT_REQUEST, prompt, exchange(BOB, "prompts/get", "wiki", "triage"))
    ).verdict.code == "allow"
    assert (
        await pipeline.run(Hook.CLIENT_REQUEST, prompt, exchange(ALICE, "prompts/get", "wiki", "triage"))
    ).verdict.code == "policy.denied"
