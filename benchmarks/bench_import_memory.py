"""Where `ostiary serve`'s memory goes: its modules by group, then building and starting it.

    .venv/bin/python benchmarks/bench_import_memory.py            # --model off, an HTTP server behind it

Runs `ostiary serve` with the quick start's pipeline in front of the echo server over HTTP, makes
300 calls, and lists the modules it loaded (written at exit). A fresh interpreter then imports
those modules group by group (the table's order: a group's share includes what later groups also
use) and reports its resident size after each, then builds and starts a gateway on the same
configuration with everything already imported: what is left is the inspections' rule sets, the
store, the audit log. Good to about ±0.3 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from fleet import ECHO_SERVER, QUICKSTART_INSPECTIONS, QUICKSTART_POLICY, free_port, wait_for_port
from rawclient import RawHttp

WITH_MODULE_LIST = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules)) + '\\n'))\n"
    "from ostiary.cli import main\n"
    "main(sys.argv[1:])\n"
)

GROUPS = [
    (
        "the interpreter, site, codecs",
        "encodings codecs io abc site os stat posixpath genericpath _collections_abc",
    ),
    ("re, typing, enum, dataclasses, collections", "re functools collections typing enum dataclasses types"),
    (
        "asyncio, ssl, socket, subprocess, threading, inspect",
        "asyncio concurrent selectors socket ssl inspect ast",
    ),
    (
        "logging, json, hashlib, datetime and the like",
        "logging json base64 hashlib hmac secrets random datetime",
    ),
    ("uvloop, orjson, PyYAML, httptools", "uvloop orjson yaml httptools"),
    ("RE2", "re2"),
    ("importlib.metadata, email, zipfile, csv", "importlib.metadata email zipfile csv"),
    ("SQLAlchemy", "sqlalchemy"),
    ("uvicorn, Click, multiprocessing, logging.config", "uvicorn click multiprocessing logging.config"),
    ("httpx2, idna, urllib, http", "httpx2 idna urllib http mimetypes"),
    ("Ostiary's modules", "ostiary"),
    ("everything else serve loaded", "*"),
]

CHILD = r"""
import gc, importlib, json, sys
groups, modules, config = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20
def load(names):
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            pass
previous = rss()
print(f"| before any import (the interpreter) | {previous:.1f} | |")
for label, prefixes in groups:
    wanted = modules if prefixes == "*" else [
        m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes.split())]
    load(wanted)
    gc.collect()
    now = rss()
    print(f"| {label} | {now:.1f} | {now - previous:+.1f} |")
    previous = now
import uvloop
from ostiary.config import parse
from ostiary.gateway import Gateway
async def build():
    global previous
    gateway = Gateway(parse(config))
    gc.collect()
    now = rss()
    print(f"| the inspections built | {now:.1f} | {now - previous:+.1f} |")
    previous = now
    await gateway.start()
    gc.collect()
    now = rss()
    print(f"| the gateway started (store, audit log) | {now:.1f} | {now - previous:+.1f} |")
    await gateway.close()
uvloop.run(build())
"""


async def calls(
    echo_port: int, port: int, echo: subprocess.Popen[bytes], gateway: subprocess.Popen[bytes]
) -> None:
    await wait_for_port(echo_port, echo)
    await wait_for_port(port, gateway)
    client = RawHttp(f"http://127.0.0.1:{port}/mcp", "legacy")
    await client.open()
    for _ in range(300):
        await client.echo("hello")
    await client.aclose()


def serve_modules(workdir: Path, python: str, config: Path, echo_port: int) -> list[str]:
    """The modules `ostiary serve` had loaded after 300 calls."""
    port = free_port()
    with (workdir / "stderr.log").open("w") as errlog:
        echo = subprocess.Popen(
            [python, str(ECHO_SERVER), "--http", str(echo_port)], stdout=errlog, stderr=errlog
        )
        argv = [python, "-c", WITH_MODULE_LIST, "serve", "--config", str(config), "--port", str(port)]
        gateway = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            asyncio.run(calls(echo_port, port, echo, gateway))
        finally:
            gateway.send_signal(signal.SIGINT)
            stderr = gateway.communicate(timeout=30)[1].decode()
            echo.terminate()
            echo.wait(10)
    line = next(line for line in stderr.splitlines() if line.startswith("MODULES "))
    return [m for m in line.split()[1:] if m not in ("__main__", "__mp_main__")]


def configuration(servers: str, policy: Path, model: str, store: Path) -> str:
    return (
        f"servers: {servers}\n"
        + QUICKSTART_INSPECTIONS.format(policy=policy)
        + f"detectors: {{model: {model}}}\nstore: sqlite+aiosqlite:///{store}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["auto", "on", "off"], default="off", help="detectors.model")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ostiary-import-memory-") as tmp:
        workdir = Path(tmp)
        policy = workdir / "policy.yaml"
        policy.write_text(QUICKSTART_POLICY)
        echo_port = free_port()
        served = f'{{echo: {{url: "http://127.0.0.1:{echo_port}/mcp", prefix: ""}}}}'
        config = workdir / "serve.yaml"
        config.write_text(configuration(served, policy, args.model, workdir / "serve.db"))
        modules = serve_modules(workdir, args.python, config, echo_port)
        print(f"`ostiary serve` loaded {len(modules)} modules\n")
        print("| part | VmRSS MB | step |\n| --- | ---: | ---: |", flush=True)
        alone = configuration("{}", policy, args.model, workdir / "alone.db")
        subprocess.run([args.python, "-c", CHILD, json.dumps(GROUPS), json.dumps(modules), alone], check=True)


if __name__ == "__main__":
    main()
