"""MCP method names, protocol revisions, `_meta` keys and JSON-RPC error codes as named constants.

Everything that compares a method or emits an error code names it from here, so a grep finds
every place that acts on it.
"""

from typing import Final

# Protocol revisions, oldest first.
HANDSHAKE_VERSIONS: Final = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS: Final = ("2026-07-28",)
ALL_VERSIONS: Final = HANDSHAKE_VERSIONS + MODERN_VERSIONS
LATEST_HANDSHAKE: Final = HANDSHAKE_VERSIONS[-1]
LATEST_MODERN: Final = MODERN_VERSIONS[-1]
BATCHING_VERSION: Final = "2025-03-26"

# Lifecycle
INITIALIZE: Final = "initialize"
INITIALIZED: Final = "notifications/initialized"
PING: Final = "ping"
DISCOVER: Final = "server/discover"

# Client -> server
TOOLS_LIST: Final = "tools/list"
TOOLS_CALL: Final = "tools/call"
PROMPTS_LIST: Final = "prompts/list"
PROMPTS_GET: Final = "prompts/get"
RESOURCES_LIST: Final = "resources/list"
RESOURCES_TEMPLATES_LIST: Final = "resources/templates/list"
RESOURCES_READ: Final = "resources/read"
RESOURCES_SUBSCRIBE: Final = "resources/subscribe"
RESOURCES_UNSUBSCRIBE: Final = "resources/unsubscribe"
COMPLETE: Final = "completion/complete"
LOGGING_SET_LEVEL: Final = "logging/setLevel"
SUBSCRIPTIONS_LISTEN: Final = "subscriptions/listen"

# Server -> client
SAMPLING_CREATE: Final = "sampling/createMessage"
ELICITATION_CREATE: Final = "elicitation/create"
ROOTS_LIST: Final = "roots/list"

# Notifications
CANCELLED: Final = "notifications/cancelled"
PROGRESS: Final = "notifications/progress"
MESSAGE: Final = "notifications/message"
TOOLS_LIST_CHANGED: Final = "notifications/tools/list_changed"
PROMPTS_LIST_CHANGED: Final = "notifications/prompts/list_changed"
RESOURCES_LIST_CHANGED: Final = "notifications/resources/list_changed"
RESOURCES_UPDATED: Final = "notifications/resources/updated"
ROOTS_LIST_CHANGED: Final = "notifications/roots/list_changed"
ELICITATION_COMPLETE: Final = "notifications/elicitation/complete"
SUBSCRIPTIONS_ACKNOWLEDGED: Final = "notifications/subscriptions/acknowledged"

LIST_CHANGED: Final = frozenset({TOOLS_LIST_CHANGED, PROMPTS_LIST_CHANGED, RESOURCES_LIST_CHANGED})
LIST_METHODS: Final = frozenset({TOOLS_LIST, PROMPTS_LIST, RESOURCES_LIST, RESOURCES_TEMPLATES_LIST})
# Requests that may answer with an InputRequiredResult on 2026-07-28.
MRTR_METHODS: Final = frozenset({TOOLS_CALL, PROMPTS_GET, RESOURCES_READ})
# Methods 2026-07-28 removed: a stateless request naming one is answered -32601.
REMOVED_IN_MODERN: Final = frozenset(
    {INITIALIZE, PING, LOGGING_SET_LEVEL, RESOURCES_SUBSCRIBE, RESOURCES_UNSUBSCRIBE}
)
SERVER_TO_CLIENT_REQUESTS: Final = frozenset({SAMPLING_CREATE, ELICITATION_CREATE, ROOTS_LIST, PING})

# `_meta` keys of 2026-07-28.
META_PROTOCOL_VERSION: Final = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPABILITIES: Final = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO: Final = "io.modelcontextprotocol/clientInfo"
META_SERVER_INFO: Final = "io.modelcontextprotocol/serverInfo"
META_LOG_LEVEL: Final = "io.modelcontextprotocol/logLevel"
META_SUBSCRIPTION_ID: Final = "io.modelcontextprotocol/subscriptionId"

# JSON-RPC 2.0
PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
# MCP
REQUEST_CANCELLED: Final = -32800
HEADER_MISMATCH: Final = -32020
MISSING_CLIENT_CAPABILITY: Final = -32021
UNSUPPORTED_PROTOCOL_VERSION: Final = -32022
URL_ELICITATION_REQUIRED: Final = -32042
# Ostiary's own, inside the implementation-defined range the MCP specification leaves free
# (-32000..-32019). The dotted verdict code travels in `error.data.code`.
GATEWAY_DENIED: Final = -32010
UPSTREAM_UNAVAILABLE: Final = -32011
UPSTREAM_TIMEOUT: Final = -32012
GATEWAY_UNAVAILABLE: Final = -32013

# Every method a client may send as a request that Ostiary knows by name.
CLIENT_REQUESTS: Final = frozenset(
    {
        INITIALIZE, PING, DISCOVER, TOOLS_LIST, TOOLS_CALL, PROMPTS_LIST, PROMPTS_GET, RESOURCES_LIST,
        RESOURCES_TEMPLATES_LIST, RESOURCES_READ, RESOURCES_SUBSCRIBE, RESOURCES_UNSUBSCRIBE, COMPLETE,
        LOGGING_SET_LEVEL, SUBSCRIPTIONS_LISTEN,
    }
)  # fmt: skip
_KNOWN: Final = CLIENT_REQUESTS | SERVER_TO_CLIENT_REQUESTS | {
    INITIALIZED, CANCELLED, PROGRESS, MESSAGE, TOOLS_LIST_CHANGED, PROMPTS_LIST_CHANGED,
    RESOURCES_LIST_CHANGED, RESOURCES_UPDATED, ROOTS_LIST_CHANGED, ELICITATION_COMPLETE,
    SUBSCRIPTIONS_ACKNOWLEDGED,
}  # fmt: skip
_FOLDED: Final = {m.casefold(): m for m in _KNOWN}


def look_alike(method: str) -> str | None:
    """The known method that `method` imitates, if it differs from it only by case or whitespace
    (`Tools/Call`, `"tools/call "`), or any method name that carries whitespace or control
    characters: such a name is malformed, because a lenient server may still run it."""
    if method in _KNOWN:
        return None
    stripped = "".join(method.split()).casefold()
    found = _FOLDED.get(stripped)
    if found is not None:
        return found
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in method):
        return method
    return None


def is_notification_name(method: str) -> bool:
    """Whether a method may arrive without an id: every MCP notification is `notifications/…`."""
    return method.startswith("notifications/")
