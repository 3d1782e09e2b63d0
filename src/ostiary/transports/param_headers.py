"""`Mcp-Param-*` headers: tool arguments a 2026-07-28 server asks clients to mirror into HTTP headers.

A tool marks an input property with `"x-mcp-header": "<Token>"`; every `tools/call` of it must then
carry `Mcp-Param-<Token>` equal to that argument, or the server refuses the call (400, -32020).
The transport learns the annotations from the `tools/list` results that pass through it, so it
can add the headers to later calls without anyone configuring them.
"""

from __future__ import annotations

import re
from typing import Any, Final

from ostiary.messages import JSON
from ostiary.transports.headers import encode_value

PREFIX: Final = "Mcp-Param-"
ANNOTATION: Final = "x-mcp-header"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PRIMITIVES: Final = frozenset({"string", "integer", "boolean"})

Path = tuple[str, ...]


def annotated_properties(schema: object) -> dict[Path, str] | None:
    """Each annotated property reachable through `properties` alone -> its token; None if any is invalid.

    Invalid means what the specification says a client must not mirror: a token that is not an
    HTTP field-name token, a property that is not string/integer/boolean, or a token used twice.
    """
    found: dict[Path, str] = {}
    seen: set[str] = set()
    stack: list[tuple[Path, object]] = [((), schema)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, dict):
            continue
        if path and ANNOTATION in node:
            token = node[ANNOTATION]
            if (
                not isinstance(token, str)
                or not _TOKEN.fullmatch(token)
                or node.get("type") not in _PRIMITIVES
            ):
                return None
            if token.lower() in seen:
                return None
            seen.add(token.lower())
            found[path] = token
        properties = node.get("properties")
        if isinstance(properties, dict):
            stack.extend(((*path, key), sub) for key, sub in properties.items())
    return found


def render(value: object) -> str | None:
    """A scalar as the header carries it; None for what has no header form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _value_at(arguments: object, path: Path) -> Any:
    node: Any = arguments
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


class ParamHeaders:
    """What this server's tools ask to have mirrored, learned from its tools/list pages."""

    def __init__(self) -> None:
        self._tools: dict[str, dict[Path, str]] = {}

    def learn(self, tools_list_result: JSON) -> None:
        tools = tools_list_result.get("tools")
        if not isinstance(tools, list):
            return
        for tool in tools:
            if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
                continue
            annotated = annotated_properties(tool.get("inputSchema"))
            if annotated:
                self._tools[tool["name"]] = annotated
            else:
                self._tools.pop(tool["name"], None)

    def for_call(self, params: JSON) -> dict[str, str]:
        name = params.get("name")
        annotated = self._tools.get(name) if isinstance(name, str) else None
        if not annotated:
            return {}
        arguments = params.get("arguments")
        headers: dict[str, str] = {}
        for path, token in annotated.items():
            rendered = render(_value_at(arguments, path))
            if rendered is not None:
                headers[PREFIX + token] = encode_value(rendered)
        return headers
