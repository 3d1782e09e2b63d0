"""The HTTP headers a 2026-07-28 request must carry to mirror its body.

Servers of that revision compare `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` with the
JSON body and answer 400 / -32020 on any difference, so these are derived from the message
itself, never configured. Values that would not survive an HTTP field round-trip travel in the
specification's Base64 sentinel form.
"""

from __future__ import annotations

import base64
import re
from typing import Final

from ostiary import methods
from ostiary.messages import Message

PROTOCOL_VERSION: Final = "MCP-Protocol-Version"
METHOD: Final = "Mcp-Method"
NAME: Final = "Mcp-Name"
SESSION_ID: Final = "Mcp-Session-Id"
LAST_EVENT_ID: Final = "Last-Event-ID"

# Which params field `Mcp-Name` mirrors, per method.
NAME_FIELDS: Final = {methods.TOOLS_CALL: "name", methods.PROMPTS_GET: "name", methods.RESOURCES_READ: "uri"}

_VISIBLE_ASCII = re.compile(r"[\x20-\x7e]*")
_SENTINEL = re.compile(r"=\?base64\?.*\?=", re.DOTALL)


def encode_value(value: str) -> str:
    """Plain when it is visible ASCII without edge whitespace and unlike the sentinel; else Base64."""
    if _VISIBLE_ASCII.fullmatch(value) and value == value.strip() and not _SENTINEL.fullmatch(value):
        return value
    return "=?base64?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="


def modern_version(message: Message) -> str | None:
    """The 2026-07-28-era revision a message declares in its `_meta`, if it declares one."""
    version = message.meta.get(methods.META_PROTOCOL_VERSION)
    return version if isinstance(version, str) and version in methods.MODERN_VERSIONS else None


def modern_headers(message: Message, version: str) -> dict[str, str]:
    """`MCP-Protocol-Version`, `Mcp-Method` and, for name-bearing methods, `Mcp-Name`."""
    headers = {PROTOCOL_VERSION: version}
    if message.method:
        headers[METHOD] = encode_value(message.method)
        field = NAME_FIELDS.get(message.method)
        if field is not None:
            value = message.params.get(field)
            if isinstance(value, str):
                headers[NAME] = encode_value(value)
    return headers
