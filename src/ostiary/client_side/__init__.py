"""The client side: where hosts connect (stdio for one host, Streamable HTTP for many)."""
