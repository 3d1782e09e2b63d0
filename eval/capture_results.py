"""Capture real tool results from real MCP servers, for the benign corpus.

Calls a fixed list of tools with the official SDK client over stdio and prints one JSON line per
result: the model-visible text (content blocks, embedded resource text, structured content as
JSON) with its provenance (`package@version`, tool, arguments). Run where the servers are
installed; the committed corpus holds only the output.

    .venv/bin/python eval/capture_results.py CALLS.json > eval/sources/captured/results.jsonl

`CALLS.json` is a list of {"label", "command", "args", "calls": [[tool, arguments], ...]}.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from mcp import Client, StdioServerParameters


def visible(result: Any) -> str:
    parts: list[str] = []
    for block in result.content:
        data = block.model_dump(by_alias=True, exclude_none=True)
        if "text" in data:
            parts.append(data["text"])
        elif isinstance(data.get("resource"), dict) and "text" in data["resource"]:
            parts.append(data["resource"]["text"])
        elif "data" in data:
            parts.append(f"data:{data.get('mimeType', '')};base64,{data['data']}")
    if result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


async def capture(server: dict[str, Any]) -> None:
    params = StdioServerParameters(command=server["command"], args=server["args"], env=dict(os.environ))
    async with Client(params, read_timeout_seconds=60) as client:
        for tool, arguments in server["calls"]:
            result = await client.call_tool(tool, arguments)
            text = visible(result)
            if text.strip():
                source = f"{server['label']} tools/call {tool} {json.dumps(arguments, sort_keys=True)}"
                print(json.dumps({"kind": "tool_result", "text": text, "source": source}, ensure_ascii=False))


async def main(servers: list[dict[str, Any]]) -> None:
    for server in servers:
        try:
            await asyncio.wait_for(capture(server), 120)
        except Exception as exc:  # one broken server must not stop the capture
            print(f"{server['label']}: {type(exc).__name__}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        asyncio.run(main(json.load(handle)))
