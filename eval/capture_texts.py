"""Capture realistic benign tool-result text from documentation installed on this machine.

Package READMEs (npm `README.md`, Python `METADATA` descriptions) and Python standard library
module docstrings, each with its provenance (`package@version`, licence). The committed corpus
holds the output, so evaluation does not depend on what is installed.

    .venv/bin/python eval/capture_texts.py NODE_MODULES_DIR... > eval/sources/captured/texts.jsonl
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import json
import pathlib
import sys

PYTHON_PACKAGES = (
    "httpx2", "pydantic", "starlette", "typer", "rich", "sqlalchemy", "alembic", "orjson", "pyyaml",
    "platformdirs", "keyring", "cryptography", "pyjwt", "hypothesis", "pytest", "uvicorn", "anyio",
    "jsonschema", "click", "gitpython", "pendulum", "mako", "jmespath", "aiosqlite", "asyncpg",
)  # fmt: skip
STDLIB = (
    "json", "os.path", "subprocess", "re", "asyncio", "http.client", "email.message", "csv", "sqlite3",
    "logging", "argparse", "pathlib", "datetime", "collections", "itertools", "functools", "urllib.parse",
    "hashlib", "base64", "secrets", "ssl", "socket", "threading", "unittest", "typing", "dataclasses",
    "shutil", "tempfile", "zipfile", "tarfile", "textwrap", "string", "uuid", "heapq", "bisect",
)  # fmt: skip


def rows() -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for name in PYTHON_PACKAGES:
        try:
            meta = importlib.metadata.metadata(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        body = meta.get_payload() or meta.get("Description") or ""  # type: ignore[attr-defined]
        if len(body) > 400:
            licence = meta.get("License-Expression") or meta.get("License") or "see package"
            source = f"pypi:{name}@{meta['Version']} README ({licence.splitlines()[0][:40]})"
            out.append({"kind": "readme", "text": body, "source": source})
    version = ".".join(map(str, sys.version_info[:3]))
    for name in STDLIB:
        doc = inspect.getdoc(importlib.import_module(name)) or ""
        if len(doc) > 300:
            out.append(
                {
                    "kind": "docstring",
                    "text": doc,
                    "source": f"CPython {version} stdlib docstring: {name} (PSF-2.0)",
                }
            )
    for root in sys.argv[1:]:
        for readme in sorted(pathlib.Path(root).glob("**/node_modules/@*/*/README.md")) + sorted(
            pathlib.Path(root).glob("@*/*/README.md")
        ):
            package = json.loads((readme.parent / "package.json").read_text())
            name, ver = package["name"], package["version"]
            if "mcp" not in name and "modelcontextprotocol" not in name:
                continue
            licence = package.get("license", "see package")
            out.append(
                {
                    "kind": "readme",
                    "text": readme.read_text(),
                    "source": f"npm:{name}@{ver} README ({licence})",
                }
            )
    return out


if __name__ == "__main__":
    seen: set[str] = set()
    for row in rows():
        if row["source"] not in seen:
            seen.add(row["source"])
            print(json.dumps(row, ensure_ascii=False))
