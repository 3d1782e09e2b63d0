"""Names keep their meaning: a method spelled like a known one is malformed, a tool name that
only looks like a listed one is recognised as such, and a newcomer never takes a name given
before it."""

from __future__ import annotations

import pytest

from ostiary import methods
from ostiary.session.catalog import Catalog


@pytest.mark.parametrize(
    ("method", "imitates"),
    [
        ("Tools/Call", "tools/call"),
        ("tools/call ", "tools/call"),
        ("\ttools/call", "tools/call"),
        ("RESOURCES/READ", "resources/read"),
        ("Notifications/Cancelled", "notifications/cancelled"),
        ("tools/ call", "tools/call"),
    ],
)
def test_a_method_differing_only_by_case_or_whitespace_imitates_a_known_one(
    method: str, imitates: str
) -> None:
    assert methods.look_alike(method) == imitates


@pytest.mark.parametrize(
    "method", ["tools/call", "notifications/initialized", "tools/execute", "acme/reindex"]
)
def test_known_and_honestly_unknown_methods_are_not_look_alikes(method: str) -> None:
    assert methods.look_alike(method) is None


def test_a_method_with_a_control_character_is_malformed() -> None:
    assert methods.look_alike("acme/\x00reindex") is not None


def tools(*names: str) -> list[dict[str, object]]:
    return [{"name": n, "inputSchema": {"type": "object"}} for n in names]


def test_a_look_alike_of_a_listed_tool_is_recognised() -> None:
    catalog = Catalog({"fs": "fs"})
    catalog.record_page("fs", methods.TOOLS_LIST, tools("read_file"), True)
    for name in ("fs__Read_File", "fs__READ_FILE", "fs__ｒｅａｄ_file", "fs__read_ﬁle"):
        assert catalog.look_alike(methods.TOOLS_LIST, name) == "fs__read_file"
    assert catalog.look_alike(methods.TOOLS_LIST, "fs__read_file") is None
    assert catalog.look_alike(methods.TOOLS_LIST, "fs__write_file") is None


def test_a_newcomer_listed_first_after_a_change_does_not_take_a_known_name() -> None:
    catalog = Catalog({"fs": "fs"})
    catalog.record_page("fs", methods.TOOLS_LIST, tools("read_file"), True)
    catalog.forget("fs", methods.TOOLS_LIST)
    listed = catalog.record_page("fs", methods.TOOLS_LIST, tools("read.file", "read_file"), True)
    exposed = {item["name"] for item in listed}
    assert catalog.resolve(methods.TOOLS_LIST, "fs__read_file") == ("fs", "read_file")
    newcomer = next(n for n in exposed if n != "fs__read_file")
    assert newcomer.startswith("fs__read_file-")
    assert catalog.resolve(methods.TOOLS_LIST, newcomer) == ("fs", "read.file")
