"""MCP hosts on this machine: where each keeps its server list, how to read it, and how to turn
its entries into Ostiary's (`ostiary scan`, `ostiary import`)."""
