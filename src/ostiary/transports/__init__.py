"""Transports: bytes on a wire <-> `Message` streams. Framing only; no MCP semantics."""
