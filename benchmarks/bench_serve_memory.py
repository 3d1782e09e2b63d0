"""Where `ostiary serve` spends its memory: resident size after each stage of a start, per session.

Starts the echo server on Streamable HTTP and `ostiary serve` in front of it (the pipeline on,
the audit log as chosen), then reads the gateway's VmRSS and VmHWM from /proc: listening, after
the first session and call, with N sessions open, and after rounds of calls on all of them.
`--store existing` opens a store that is already at the newest schema (every start but the
first); `fresh` creates it, which loads Alembic for the migration.

    .venv/bin/python benchmarks/bench_serve_memory.py                      # 16 sessions, audit on
    .venv/bin/python benchmarks/bench_serve_memory.py --store fresh --audit off
    .venv/bin/python benchmarks/bench_serve_memory.py --share-tls-context  # what-if, see below
    .venv/bin/python benchmarks/bench_serve_memory.py --stdio --isolation session    # a process each
    .venv/bin/python benchmarks/bench_serve_memory.py --stdio --isolation principal  # one, shared
    .venv/bin/python benchmarks/bench_serve_memory.py --stdio --pipeline quickstart --model off \
        --sessions 1 --rounds 20                     # the quick start's gateway, without the model

`--stdio` puts the echo server behind the gateway as a stdio command instead, so each session may
start its own copy: the figures then add the resident size of every process the gateway started
(its stdio servers) to its own (the gateway's own VmRSS and VmHWM follow), and `--isolation`
chooses whether sessions share them. `--pipeline quickstart` puts every built-in inspection in
front, as examples/quickstart.yaml does (the default is the tool filter alone); `--model` sets
`detectors.model`.

`--payload corpus` echoes the evaluation corpus (`eval/corpus/*.jsonl`, each text cut to 4,000
characters) instead of `hello`, one text a call, in turn: traffic as varied as a gateway sees,
whose detectors then build automaton states a repeated `hello` never needs (RE2 keeps them, up to
each pattern's memory budget). A call the gateway refuses or redacts counts as answered.

    .venv/bin/python benchmarks/bench_serve_memory.py --pipeline quickstart --model off \
        --sessions 1 --rounds 4570 --payload corpus   # every text of the corpus once

`--share-tls-context` measures a change that is not made: every upstream HTTP client builds its
own TLS context (the CA bundle loaded again, about 1 MB each, even for http:// URLs); sharing one
per process is what it would save.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from fleet import (
    ECHO_SERVER,
    QUICKSTART_INSPECTIONS,
    QUICKSTART_POLICY,
    free_port,
    ostiary_command,
    spawn_background,
    stop_background,
    wait_for_port,
)
from rawclient import CallFailed, RawHttp

CORPUS = Path(__file__).resolve().parent.parent / "eval" / "corpus"

# Runs `ostiary` with every TLS context built once and shared (the what-if of --share-tls-context).
SHARED_TLS = (
    "import functools, sys\n"
    "import httpx2._transports.default as transports\n"
    "transports.create_ssl_context = functools.lru_cache(maxsize=None)(transports.create_ssl_context)\n"
    "from ostiary.cli import main\n"
    "main(sys.argv[1:])\n"
)


def memory_mb(pid: int) -> str:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            found[line.split(":")[0]] = int(line.split()[1]) / 1024
    return f"VmRSS {found['VmRSS']:.1f} MB, VmHWM {found['VmHWM']:.1f} MB"


def tree_mb(pid: int) -> str:
    """The gateway's and its descendants' resident sizes, summed (for stdio servers it started)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    family, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent and child not in family]
        family.update(children)
        frontier.extend(children)
    total = 0.0
    for member in family:
        try:
            status = Path(f"/proc/{member}/status").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0) / 1024
    return f"gateway and its {len(family) - 1} processes: RSS {total:.1f} MB; the gateway: {memory_mb(pid)}"


def config(
    workdir: Path,
    echo_port: int,
    audit: str,
    stdio: str | None = None,
    isolation: str = "session",
    python: str = sys.executable,
    pipeline: str = "toolfilter",
    model: str | None = None,
) -> Path:
    path = workdir / "serve.yaml"
    if stdio is not None:
        server = f'{{command: "{python}", args: ["{stdio}"], prefix: "", isolation: {isolation}}}'
    else:
        server = f'{{url: "http://127.0.0.1:{echo_port}/mcp", prefix: ""}}'
    if pipeline == "quickstart":
        policy = workdir / "policy.yaml"
        policy.write_text(QUICKSTART_POLICY)
        inspections = QUICKSTART_INSPECTIONS.format(policy=policy)
    else:
        inspections = "inspections:\n  - {name: toolfilter, mode: enforce}\n"
    path.write_text(
        f"servers:\n  echo: {server}\n"
        + inspections
        + (f"detectors: {{model: {model}}}\n" if model else "")
        + f"store: sqlite+aiosqlite:///{workdir / 'store.db'}\n"
        + ("audit: {enabled: false}\n" if audit == "off" else "")
    )
    return path


async def measure(args: argparse.Namespace, workdir: Path, errlog: TextIO) -> None:
    echo_port, port = free_port(), free_port()
    echo = spawn_background([args.python, str(ECHO_SERVER), "--http", str(echo_port)], errlog)
    ostiary = [args.python, "-c", SHARED_TLS] if args.share_tls_context else [ostiary_command(args.python)]
    stdio = str(ECHO_SERVER) if args.stdio else None
    path = config(
        workdir, echo_port, args.audit, stdio, args.isolation, args.python, args.pipeline, args.model
    )
    argv = [*ostiary, "serve", "--config", str(path), "--port", str(port)]
    report = tree_mb if args.stdio else memory_mb
    runs = 2 if args.store == "existing" else 1  # the first start creates the store
    try:
        await wait_for_port(echo_port, echo)
        for run in range(runs):
            gateway = spawn_background(argv, errlog)
            try:
                await wait_for_port(port, gateway)
                if run < runs - 1:
                    continue
                print(f"listening: {report(gateway.pid)}")
                clients = []
                for n in range(args.sessions):
                    client = RawHttp(f"http://127.0.0.1:{port}/mcp", "legacy")
                    await client.open()
                    clients.append(client)
                    if n == 0:
                        await client.echo("first")
                        print(f"1 session and a call: {report(gateway.pid)}")
                print(f"{args.sessions} sessions: {report(gateway.pid)}")
                texts = corpus() if args.payload == "corpus" else ["hello"]
                refused = 0
                for turn in range(args.rounds):
                    text = texts[turn % len(texts)]
                    answers = await asyncio.gather(*(c.echo(text) for c in clients), return_exceptions=True)
                    refused += sum(isinstance(a, CallFailed) for a in answers)
                    if errors := [
                        a for a in answers if isinstance(a, BaseException) and not isinstance(a, CallFailed)
                    ]:
                        raise errors[0]
                if refused:
                    print(f"calls refused or redacted by the gateway: {refused}")
                print(f"after {args.rounds} rounds of calls on each: {report(gateway.pid)}")
                await asyncio.gather(*(c.aclose() for c in clients))
            finally:
                stop_background(gateway)
    finally:
        stop_background(echo)


def corpus() -> list[str]:
    """The evaluation corpus's texts (a definition's record as JSON), each cut to 4,000 characters."""
    texts = []
    for name in ("injection", "poisoning", "secrets"):
        # By line breaks only: str.splitlines also splits at the U+2028 some texts hold.
        for line in (CORPUS / f"{name}.jsonl").read_text(encoding="utf-8").split("\n"):
            if not line.strip():
                continue
            record = json.loads(line)
            texts.append(str(record.get("text") or json.dumps(record))[:4000])
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=16, help="at most listen.max_sessions_per_principal")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--audit", choices=["on", "off"], default="on")
    parser.add_argument("--store", choices=["existing", "fresh"], default="existing")
    parser.add_argument("--share-tls-context", action="store_true", help="what-if: one TLS context")
    parser.add_argument("--stdio", action="store_true", help="the echo server as a stdio command")
    parser.add_argument("--isolation", choices=["session", "principal", "shared"], default="session")
    parser.add_argument("--pipeline", choices=["toolfilter", "quickstart"], default="toolfilter")
    parser.add_argument("--model", choices=["auto", "on", "off"], help="detectors.model (default: unset)")
    parser.add_argument(
        "--payload", choices=["hello", "corpus"], default="hello", help="what each call echoes (see above)"
    )
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ostiary-serve-memory-") as tmp:
        workdir = Path(tmp)
        with (workdir / "stderr.log").open("w") as errlog:
            asyncio.run(measure(args, workdir, errlog))


if __name__ == "__main__":
    main()
