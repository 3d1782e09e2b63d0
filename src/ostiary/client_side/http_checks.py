"""Request checks of the HTTP front that need no session: Origin and Host (DNS rebinding), and the
2026-07-28 rule that `Mcp-Method`/`Mcp-Name` headers mirror the body.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import urlsplit

from ostiary import methods
from ostiary.config import ListenConfig
from ostiary.messages import Message

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
_NAME_PARAM = {methods.TOOLS_CALL: "name", methods.PROMPTS_GET: "name", methods.RESOURCES_READ: "uri"}


def _media_types(value: str) -> set[str]:
    return {part.split(";", 1)[0].strip().lower() for part in value.split(",")}


def json_body(content_type: str | None) -> bool:
    """A POST body must be declared JSON (`application/json`, parameters allowed)."""
    return content_type is not None and _media_types(content_type) == {"application/json"}


def accepts_post_replies(accept: str | None) -> bool:
    """A POST's reply is JSON or an SSE stream, so the client must accept both (or say nothing:
    no Accept header means anything, RFC 9110 section 12.5.1); wildcards count."""
    if accept is None:
        return True
    types = _media_types(accept)
    if "*/*" in types:
        return True
    return bool(types & {"application/json", "application/*"}) and bool(
        types & {"text/event-stream", "text/*"}
    )


def _hostname(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def origin_allowed(origin: str | None, listen: ListenConfig) -> bool:
    """No Origin (a non-browser client) is fine; a browser Origin must be loopback or allowed."""
    if origin is None or listen.unsafe_disable_origin_checks:
        return True
    if origin in listen.allowed_origins:
        return True
    host = urlsplit(origin).hostname or ""
    return host in LOOPBACK_HOSTS or f"[{host}]" in LOOPBACK_HOSTS


def host_allowed(host: str | None, listen: ListenConfig) -> bool:
    if listen.unsafe_disable_origin_checks:
        return True
    if host is None:
        return False
    name = _hostname(host)
    allowed = {h.lower() for h in listen.allowed_hosts}
    return name in LOOPBACK_HOSTS or name in allowed or host.lower() in allowed


def decode_header_value(value: str) -> str | None:
    """Undo the `=?base64?…?=` sentinel; None if it is malformed."""
    if value.startswith("=?base64?") and value.endswith("?="):
        try:
            return base64.b64decode(value[9:-2], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    return value


def header_mismatch(message: Message, headers: Mapping[str, str]) -> str | None:
    """Why the 2026-07-28 routing headers disagree with the body, or None if they agree."""
    method = headers.get("mcp-method")
    if method is None:
        return "missing Mcp-Method header"
    if method != message.method:
        return "Mcp-Method does not match the body"
    param = _NAME_PARAM.get(message.method)
    if param is not None:
        raw = headers.get("mcp-name")
        if raw is None:
            return "missing Mcp-Name header"
        if decode_header_value(raw) != message.params.get(param):
            return "Mcp-Name does not match the body"
    version = headers.get("mcp-protocol-version")
    meta = message.params.get("_meta")
    body_version = meta.get(methods.META_PROTOCOL_VERSION) if isinstance(meta, dict) else None
    if version is not None and body_version is not None and version != body_version:
        return "MCP-Protocol-Version does not match the body"
    return None
