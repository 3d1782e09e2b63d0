"""Namespacing, collisions and cursors: how several servers' tools become one list."""

import re

import pytest

from ostiary import methods
from ostiary.messages import ProtocolError
from ostiary.session.catalog import Catalog, decode_cursor, encode_cursor, expose

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@pytest.mark.parametrize(
    "name", ["echo", "read.file", "a/b c", "ünïcode", "x" * 200, "get-sum", "__dunder__"]
)
def test_exposed_names_stay_within_what_hosts_accept(name: str) -> None:
    assert NAME.match(expose("server-1", name))


def test_an_empty_prefix_keeps_the_servers_own_names() -> None:
    assert expose("", "read.file") == "read.file"


def test_names_resolve_back_to_their_server() -> None:
    catalog = Catalog({"fs": "fs", "git": "git"})
    shown = catalog.record_page("fs", methods.TOOLS_LIST, [{"name": "read.file"}], True)
    assert shown == [{"name": "fs__read_file"}]
    assert catalog.resolve(methods.TOOLS_LIST, "fs__read_file") == ("fs", "read.file")
    # Unlisted, but the scheme is reversible for names that needed no rewriting.
    assert catalog.resolve(methods.TOOLS_LIST, "git__git_status") == ("git", "git_status")
    assert catalog.resolve(methods.TOOLS_LIST, "nobody__x") is None


def test_a_collision_is_never_silently_shadowed(caplog: pytest.LogCaptureFixture) -> None:
    catalog = Catalog({"a": "a"})
    first, second = catalog.record_page("a", methods.TOOLS_LIST, [{"name": "x.y"}, {"name": "x_y"}], True)
    assert first["name"] != second["name"]
    assert catalog.resolve(methods.TOOLS_LIST, first["name"]) == ("a", "x.y")
    assert catalog.resolve(methods.TOOLS_LIST, second["name"]) == ("a", "x_y")
    assert "collision" in caplog.text


def test_resources_route_by_uri_then_by_template() -> None:
    catalog = Catalog({"a": "a", "b": "b"})
    catalog.record_page("a", methods.RESOURCES_LIST, [{"uri": "file:///x", "name": "x"}], True)
    catalog.record_page(
        "b", methods.RESOURCES_TEMPLATES_LIST, [{"uriTemplate": "db://{table}/{id}", "name": "r"}], True
    )
    assert catalog.server_for_uri("file:///x") == "a"
    assert catalog.server_for_uri("db://users/7") == "b"
    assert catalog.server_for_uri("http://elsewhere") is None


def test_a_changed_list_forgets_only_that_server() -> None:
    catalog = Catalog({"a": "a", "b": "b"})
    catalog.record_page("a", methods.TOOLS_LIST, [{"name": "t"}], True)
    catalog.record_page("b", methods.TOOLS_LIST, [{"name": "t"}], True)
    catalog.forget("a", methods.TOOLS_LIST)
    assert ("a", methods.TOOLS_LIST) not in catalog.complete
    assert catalog.definition(methods.TOOLS_LIST, "b", "t") == {"name": "t"}


def test_cursors_round_trip_and_forgeries_are_invalid_params() -> None:
    pending = {"a": "opaque/1", "b": "2"}
    assert decode_cursor(encode_cursor(pending), ["a", "b"]) == pending
    for forged in ["", "!!!", encode_cursor({"zzz": "1"}), encode_cursor({}), "eyJ4Ijox", 12]:
        with pytest.raises(ProtocolError) as caught:
            decode_cursor(forged, ["a", "b"])
        assert caught.value.code == methods.INVALID_PARAMS
