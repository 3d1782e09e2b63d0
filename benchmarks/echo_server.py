"""The benchmark's MCP server: one `echo` tool on the official Python SDK, nothing else.

Built on the SDK rather than by hand so that the server behind Ostiary in the benchmark is the
same kind of server a user runs, with the SDK's own per-call cost. The same script serves stdio
(the default) or Streamable HTTP on 127.0.0.1 (`--http PORT`), so direct and gateway runs talk to
an identical server.

    python benchmarks/echo_server.py               # stdio
    python benchmarks/echo_server.py --http 8931   # http://127.0.0.1:8931/mcp
"""

from __future__ import annotations

import argparse

from mcp.server import MCPServer


def build() -> MCPServer:
    server: MCPServer = MCPServer("ostiary-bench-echo", log_level="WARNING")

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--http", type=int, metavar="PORT", help="serve Streamable HTTP on 127.0.0.1:PORT/mcp"
    )
    args = parser.parse_args()
    server = build()
    if args.http is None:
        server.run()
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.http)


if __name__ == "__main__":
    main()
