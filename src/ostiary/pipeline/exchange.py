"""The context an inspection sees beside the message: who, which server, which call.

One Exchange follows a client request from arrival to its final response, so inspections on the
response can see what was asked (and what earlier stages noted in `notes`).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ostiary.identity import Principal
from ostiary.messages import Message

if TYPE_CHECKING:
    from ostiary.pipeline.conversation import Conversation


class Hook(enum.Enum):
    """Which side sent the message and what kind it is; names the inspection hook that sees it."""

    CLIENT_REQUEST = "on_client_request"
    CLIENT_NOTIFICATION = "on_client_notification"
    CLIENT_RESPONSE = "on_client_response"
    SERVER_REQUEST = "on_server_request"
    SERVER_NOTIFICATION = "on_server_notification"
    SERVER_RESPONSE = "on_server_response"


@dataclass(slots=True)
class Exchange:
    principal: Principal
    session_id: str
    method: str
    # The configured name of the MCP server the message goes to or comes from (None: the gateway).
    server: str | None = None
    # The tool or prompt name as that server knows it, or the resource URI.
    target: str | None = None
    # The server's own definition of that tool, prompt or resource template, when known.
    definition: dict[str, Any] | None = None
    # The client's request this message belongs to (for responses and server->client requests).
    request: Message | None = None
    client_info: dict[str, Any] = field(default_factory=dict)
    protocol_version: str = ""
    # A place for stages to leave facts for later stages and for the audit observer.
    notes: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    # The client's conversation, for the gateway's own questions (human approval); None off a session.
    conversation: Conversation | None = None
    # The names of the tools the session's servers listed (theirs and as exposed to the client):
    # a result that tells the model to call one of them is more suspect than one naming no tool.
    tools: frozenset[str] = frozenset()
