"""`ostiary demo`: hostile MCP servers, the attacks they play on a model, and what Ostiary does."""
