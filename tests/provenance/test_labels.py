"""Labels: the configuration's word first, then well-known servers, then annotations, which may
only ever raise a tool's risk; configured labels are pinned with the definition."""

from __future__ import annotations

import copy

import pytest

from ostiary import config as config_module
from ostiary import messages
from ostiary.config import Config, ConfigError
from ostiary.identity import Principal
from ostiary.inspections.pinning import build as build_pinning
from ostiary.pipeline import Exchange, Hook, Pipeline, Stage
from ostiary.provenance.labels import Labeller, Labels
from ostiary.store import SqlStore

OPEN_WORLD = {"annotations": {"openWorldHint": True}}
CLOSED_WORLD = {"annotations": {"openWorldHint": False}}


def configured(text: str) -> Config:
    return config_module.parse(text)


def test_well_known_servers_are_labelled_by_their_package() -> None:
    labeller = Labeller(
        configured(
            "servers:\n"
            "  fetch: {command: uvx, args: [mcp-server-fetch]}\n"
            "  fs: {command: npx, args: ['@modelcontextprotocol/server-filesystem', /data]}\n"
            "  gh: {command: npx, args: ['@modelcontextprotocol/server-github']}\n"
        )
    )
    assert labeller.labels("fetch", "fetch", None) == Labels("untrusted", "public", True)
    assert labeller.labels("fs", "read_file", None) == Labels("internal", "private", False)
    assert labeller.labels("gh", "get_issue", None) == Labels("untrusted", "private", False)
    assert labeller.labels("gh", "create_issue", None).egress is True


def test_an_open_world_annotation_raises_risk_but_a_closed_world_one_needs_trusted_annotations() -> None:
    labeller = Labeller(
        configured(
            "servers:\n"
            "  a: {command: a}\n"
            "  b: {command: b, trust_annotations: true}\n"
            "  fs: {command: npx, args: [server-filesystem]}\n"
        )
    )
    assert labeller.labels("a", "t", OPEN_WORLD) == Labels("untrusted", "unknown", True)
    assert labeller.labels("a", "t", CLOSED_WORLD) == Labels()  # a server cannot call itself internal
    assert labeller.labels("b", "t", CLOSED_WORLD).trust == "internal"
    assert labeller.labels("fs", "t", OPEN_WORLD) == Labels("untrusted", "private", True)


def test_configured_labels_override_inference_and_tools_override_the_server() -> None:
    labeller = Labeller(
        configured(
            "servers:\n"
            "  mail:\n"
            "    command: mail-mcp\n"
            "    labels: {trust: untrusted, data: private, tools: {'send_*': {egress: true}}}\n"
            "  fetch: {command: mcp-server-fetch, labels: {trust: internal}}\n"
        )
    )
    assert labeller.labels("mail", "read_inbox", None) == Labels("untrusted", "private", False)
    assert labeller.labels("mail", "send_mail", None) == Labels("untrusted", "private", True)
    assert labeller.labels("fetch", "fetch", OPEN_WORLD) == Labels("internal", "public", True)


@pytest.mark.parametrize(
    "labels",
    [
        "{trust: maybe}",
        "{data: secret}",
        "{egress: 'yes'}",
        "{colour: red}",
        "{tools: {x: {tools: {}}}}",
        "[]",
    ],
)
def test_a_bad_labels_section_is_refused_at_start(labels: str) -> None:
    with pytest.raises(ConfigError):
        Labeller(configured(f"servers:\n  s: {{command: s, labels: {labels}}}\n"))


async def test_relabelling_a_server_quarantines_its_tools_until_approved(store: SqlStore) -> None:
    tools = [{"name": "get_issue", "description": "Read an issue.", "inputSchema": {"type": "object"}}]

    async def listed(labels: str) -> list[str]:
        cfg = configured(f"servers:\n  issues: {{command: x, labels: {labels}}}\npinning: {{mode: tofu}}\n")
        inspection = build_pinning({}, cfg)
        inspection.store = store
        pipeline = Pipeline([Stage(inspection)])
        await pipeline.start()
        response = messages.result(1, {"tools": copy.deepcopy(tools)})
        exchange = Exchange(Principal(subject="alice"), "s1", "tools/list", server="issues")
        decision = await pipeline.run(Hook.SERVER_RESPONSE, response, exchange)
        return [t["name"] for t in decision.message.result["tools"]]

    assert await listed("{trust: untrusted}") == ["get_issue"]
    assert await listed("{trust: untrusted}") == ["get_issue"]
    assert await listed("{trust: trusted}") == []
