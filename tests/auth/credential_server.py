"""An MCP server (stdio) that proves which credential it was started with, without revealing it:
its one tool returns the SHA-256 of the UPSTREAM_TOKEN environment variable."""

from __future__ import annotations

import hashlib
import os

from mcp.server import MCPServer

server = MCPServer("credential-probe")


@server.tool()
def credential_fingerprint() -> str:
    """The SHA-256 of the credential this server received."""
    return hashlib.sha256(os.environ.get("UPSTREAM_TOKEN", "").encode()).hexdigest()


if __name__ == "__main__":
    server.run()
