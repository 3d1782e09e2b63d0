"""Which tool arguments become `Mcp-Param-*` headers, and how header values are written."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from mcp.shared.inbound import decode_header_value

from ostiary.transports.headers import encode_value
from ostiary.transports.param_headers import ParamHeaders, annotated_properties


@given(st.text(st.characters(blacklist_categories=("Cs",))))
def test_every_value_survives_the_header_and_decodes_as_the_official_sdk_reads_it(value: str) -> None:
    encoded = encode_value(value)
    assert all(0x20 <= ord(c) <= 0x7E for c in encoded)
    assert encoded == encoded.strip()
    assert decode_header_value(encoded) == value


def tool(name: str, properties: dict[str, object]) -> dict[str, object]:
    return {"name": name, "inputSchema": {"type": "object", "properties": properties}}


def test_annotations_on_nested_properties_are_found_by_their_path() -> None:
    schema = {
        "properties": {
            "where": {"type": "object", "properties": {"zone": {"type": "string", "x-mcp-header": "Zone"}}},
            "force": {"type": "boolean", "x-mcp-header": "Force"},
            "plain": {"type": "string"},
        }
    }
    assert annotated_properties(schema) == {("where", "zone"): "Zone", ("force",): "Force"}


def test_a_schema_with_any_invalid_annotation_mirrors_nothing() -> None:
    for bad in (
        {"a": {"type": "number", "x-mcp-header": "A"}},
        {"a": {"type": "string", "x-mcp-header": "not a token"}},
        {"a": {"type": "string", "x-mcp-header": 7}},
        {"a": {"type": "string", "x-mcp-header": "Same"}, "b": {"type": "integer", "x-mcp-header": "same"}},
    ):
        assert annotated_properties({"properties": bad}) is None


def test_values_are_rendered_and_encoded_as_the_specification_says() -> None:
    headers = ParamHeaders()
    headers.learn(
        {
            "tools": [
                tool(
                    "t",
                    {
                        "flag": {"type": "boolean", "x-mcp-header": "Flag"},
                        "n": {"type": "integer", "x-mcp-header": "N"},
                        "city": {"type": "string", "x-mcp-header": "City"},
                        "gone": {"type": "string", "x-mcp-header": "Gone"},
                    },
                )
            ]
        }
    )
    params = {"name": "t", "arguments": {"flag": False, "n": 42, "city": "Zürich"}}
    assert headers.for_call(params) == {
        "Mcp-Param-Flag": "false",
        "Mcp-Param-N": "42",
        "Mcp-Param-City": "=?base64?WsO8cmljaA==?=",
    }


def test_a_tool_relisted_without_annotations_stops_getting_headers() -> None:
    headers = ParamHeaders()
    headers.learn({"tools": [tool("t", {"a": {"type": "string", "x-mcp-header": "A"}})]})
    assert headers.for_call({"name": "t", "arguments": {"a": "x"}}) == {"Mcp-Param-A": "x"}
    headers.learn({"tools": [tool("t", {"a": {"type": "string"}})]})
    assert headers.for_call({"name": "t", "arguments": {"a": "x"}}) == {}
    assert headers.for_call({"name": ["not", "a", "name"], "arguments": {}}) == {}
