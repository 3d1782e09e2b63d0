"""server-memory (2025-11-25, stdio) directly and through Ostiary: a knowledge graph created and read."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from .checks import text_of
from .held import HeldClient
from .topology import LEGACY_STDIO_LEGS, Leg

SERVER = "memory"
LEGS = LEGACY_STDIO_LEGS
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def test_entities_and_relations_created_are_read_back_from_the_graph(conn: HeldClient, leg: Leg) -> None:
    ada, babbage = f"Ada-{leg.id}", f"Babbage-{leg.id}"
    entities = [
        {"name": ada, "entityType": "person", "observations": ["wrote the first program ✍"]},
        {"name": babbage, "entityType": "person", "observations": ["designed the engine"]},
    ]
    relations = [{"from": ada, "to": babbage, "relationType": "corresponded with"}]

    async def check(client: Client) -> tuple[Any, ...]:
        created = await client.call_tool("create_entities", {"entities": entities})
        related = await client.call_tool("create_relations", {"relations": relations})
        opened = await client.call_tool("open_nodes", {"names": [ada]})
        graph = await client.call_tool("read_graph", {})
        return created, related, opened, graph

    created, related, opened, graph = conn.run(check)
    assert not created.is_error
    assert not related.is_error
    assert opened.structured_content is not None
    assert [e["name"] for e in opened.structured_content["entities"]] == [ada]
    assert opened.structured_content["entities"][0]["observations"] == ["wrote the first program ✍"]
    assert graph.structured_content is not None
    names = {e["name"] for e in graph.structured_content["entities"]}
    assert {ada, babbage} <= names
    assert {"from": ada, "to": babbage, "relationType": "corresponded with"} in graph.structured_content[
        "relations"
    ]
    assert ada in text_of(graph)
