"""Capture real tool, prompt and resource definitions from MCP servers, for the benign corpus.

Runs each server over stdio with the official SDK client, lists what it declares and writes one
JSON line per definition with its provenance (`package@version`, the list method). Run it on a
machine where the servers are installed; the committed corpus holds only its output.

    .venv/bin/python eval/capture_definitions.py servers.json > eval/corpus/poisoning_benign_captured.jsonl

`servers.json` maps a provenance label to {"command": ..., "args": [...], "env": {...}}.

The client declares sampling, elicitation and roots (its callbacks refuse every request), since
some servers list tools only to a client that can answer them (server-everything's elicitation
and sampling tools): a benign corpus without those would leave them unmeasured.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from mcp import Client, StdioServerParameters, types


async def capture(label: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    env = {**os.environ, **spec.get("env", {})}
    params = StdioServerParameters(command=spec["command"], args=spec.get("args", []), env=env)
    rows: list[dict[str, Any]] = []

    async def refuse(*_: Any) -> types.ErrorData:
        return types.ErrorData(code=-32601, message="not answered while capturing definitions")

    async with Client(
        params,
        read_timeout_seconds=30,
        sampling_callback=refuse,
        elicitation_callback=refuse,
        list_roots_callback=refuse,
    ) as client:
        tools = await client.list_tools()
        for tool in tools.tools:
            item = tool.model_dump(by_alias=True, exclude_none=True)
            rows.append({"kind": "tool", "definition": item, "source": f"{label} (tools/list)"})
        caps = client.server_capabilities
        if caps is not None and caps.prompts is not None:
            for prompt in (await client.list_prompts()).prompts:
                item = prompt.model_dump(by_alias=True, exclude_none=True)
                rows.append({"kind": "prompt", "definition": item, "source": f"{label} (prompts/list)"})
        if caps is not None and caps.resources is not None:
            for resource in (await client.list_resources()).resources:
                item = resource.model_dump(by_alias=True, exclude_none=True)
                rows.append({"kind": "resource", "definition": item, "source": f"{label} (resources/list)"})
        instructions = client.instructions
        if instructions:
            rows.append(
                {
                    "kind": "instructions",
                    "definition": {"instructions": instructions},
                    "source": f"{label} (initialize)",
                }
            )
    return rows


async def main(servers: dict[str, dict[str, Any]]) -> None:
    for label, spec in servers.items():
        try:
            rows = await asyncio.wait_for(capture(label, spec), 60)
        except Exception as exc:
            print(f"{label}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        print(f"{label}: {len(rows)} definitions", file=sys.stderr)
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        asyncio.run(main(json.load(handle)))
