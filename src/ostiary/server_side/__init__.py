"""The server side: one connection per MCP server behind the gateway."""
