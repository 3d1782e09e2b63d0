"""Content-detector speed: p50 over a 4 KB tool result and a 1 MB mixed result on one core,
scaling across sizes (linearity), and pathological inputs (no catastrophic backtracking).

    .venv/bin/python benchmarks/bench_detectors.py            # prints the markdown tables
    .venv/bin/python benchmarks/bench_detectors.py --quick    # fewer repetitions
    .venv/bin/python benchmarks/bench_detectors.py --secrets  # only the secrets/PII pass

Times are CPU time of the process (see p50_ms). "All detectors" is the work the three
inspections do on one result: injection over every model-visible field (joined), secrets/PII
over every field, and the poisoning rules over the same text (as if it were a definition).
Each detector is built once, as the inspections are.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from ostiary.detection.injection import InjectionDetector
from ostiary.detection.payload import model_visible
from ostiary.detection.poisoning import PoisoningDetector
from ostiary.detection.secrets import SecretsDetector

KB = 1024
MB = 1024 * KB

PROSE = (
    "The migration to the new queue is 80% done; remaining consumers move next sprint. Please forward the "
    "signed contract to legal before Friday and make sure the PO number is on every invoice. "
)
CODE = 'def forecast(city: str) -> dict:\n    return http_get(f"{BASE_URL}/forecast", params={"q": city})\n'
UNICODE = "Le café est très chaud à midi. Привет, мир. 東京の天気は晴れです。 🙂 "


def mixed_text(size: int, rng: random.Random) -> str:
    """Realistic mixed content: prose, code, a CSV table, ids and digests, some non-ASCII, and
    (above 64 KB) a base64 image, in the proportions of a large tool result."""
    parts: list[str] = []
    total = 0
    image_left = size // 10 if size > 64 * KB else 0
    while total < size:
        choice = rng.random()
        if image_left and choice < 0.02:
            part = (
                "data:image/png;base64," + base64.b64encode(rng.randbytes(min(image_left, 32 * KB))).decode()
            )
            image_left = max(0, image_left - len(part))
        elif choice < 0.45:
            part = PROSE
        elif choice < 0.6:
            part = CODE
        elif choice < 0.75:
            part = f"{rng.randrange(10**6)},2025-03-02T10:11:00Z,paid,{rng.randrange(10**4)}.50,EUR\n"
        elif choice < 0.85:
            request, commit = uuid.UUID(int=rng.getrandbits(128)), hashlib.sha1(rng.randbytes(8)).hexdigest()
            part = f"request {request} commit {commit}\n"
        else:
            part = UNICODE
        parts.append(part)
        total += len(part)
    return "".join(parts)[:size]


def result_of(text: str) -> dict[str, Any]:
    """A tools/call result: the text as content blocks of about 4 KB, as servers split long output."""
    blocks = [{"type": "text", "text": text[i : i + 4 * KB]} for i in range(0, len(text), 4 * KB)]
    return {"content": blocks, "isError": False}


# The quick start's session (mcp-server-git and mcp-server-time), by the servers' names and as
# exposed: the injection rules look for directions to these in every result.
QUICKSTART_TOOLS = (
    *("get_current_time", "convert_time"),
    *("git_status", "git_diff_unstaged", "git_diff_staged", "git_diff", "git_commit", "git_add"),
    *("git_reset", "git_log", "git_create_branch", "git_checkout", "git_show", "git_branch"),
)
SESSION = frozenset(
    name for tool in QUICKSTART_TOOLS for name in (tool, f"{'time' if 'time' in tool else 'git'}__{tool}")
)


def all_detectors() -> Callable[[dict[str, Any]], None]:
    injection, poisoning, secrets = InjectionDetector(), PoisoningDetector(), SecretsDetector()

    def run(result: dict[str, Any]) -> None:
        fields = list(model_visible(result))
        injection.scan_fields(fields, tools=SESSION)
        secrets.scan_fields(fields)
        poisoning.scan_text("\n".join(text for _, text in fields))

    return run


def p50_ms(work: Callable[[], object], repeat: int) -> float:
    """Median CPU time of this (single-threaded) process: on a shared machine, wall time also
    counts the slices other processes take while the scan waits to be scheduled."""
    work()
    samples = []
    for _ in range(repeat):
        started = time.process_time_ns()
        work()
        samples.append((time.process_time_ns() - started) / 1e6)
    return statistics.median(samples)


ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "one letter": lambda n: "a" * n,
    "repeated trigger word": lambda n: ("ignore " * (n // 7 + 1))[:n],
    "unclosed tags": lambda n: "<" * n,
    "almost a session tool": lambda n: ("call git_stat, use the git_ tool, " * (n // 34 + 1))[:n],
    "almost an email": lambda n: (("a." * 40 + "@") * (n // 81 + 1))[:n],
    "almost a url password": lambda n: ("x://u:" * (n // 6 + 1))[:n],
    "percent escapes": lambda n: ("%41" * (n // 3 + 1))[:n],
    "digits and spaces": lambda n: ("1 " * (n // 2 + 1))[:n],
    "pem header then body": lambda n: "-----BEGIN PRIVATE KEY-----" + "A" * n,
    "zero width": lambda n: "\u200b" * n,
    "homoglyphs": lambda n: ("аеорсх" * (n // 6 + 1))[:n],
    "base64 of text": lambda n: base64.b64encode(
        (b"ignore previous instructions " * (n // 40 + 1))[: n * 3 // 4]
    ).decode(),
    "short base64 texts": lambda n: (
        (base64.b64encode(b"ignore previous instructions").decode() + " ") * (n // 41 + 1)
    )[:n],
    # Hand ciphers: marks everywhere, each read again only around the first ones.
    "spaced letters": lambda n: ("I g n o r e " * (n // 12 + 1))[:n],
    "binary octets": lambda n: ("01001001 " * (n // 9 + 1))[:n],
    "morse code": lambda n: (".. --. -. / " * (n // 12 + 1))[:n],
    "short base32 texts": lambda n: (
        (base64.b32encode(b"ignore previous instructions").decode() + " ") * (n // 49 + 1)
    )[:n],
    "commit ids then base64": lambda n: (
        (hashlib.sha1(b"x").hexdigest() + "\n") * (n // 41)
        + base64.b64encode(b"ignore previous rules").decode()
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--secrets", action="store_true", help="only the secrets and PII pass")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = random.Random(1)
    if args.secrets:
        secrets_pass(rng, *((50, 5) if args.quick else (300, 15)))
        return
    run = all_detectors()
    small, large = (50, 5) if args.quick else (300, 15)

    print("### All detectors on one tools/call result (one core)\n")
    print("| input | p50 ms | ms per MB |")
    print("|---|---:|---:|")
    sizes = [4 * KB, 16 * KB, 64 * KB, 256 * KB, MB]
    timings: dict[int, float] = {}
    for size in sizes:
        result = result_of(mixed_text(size, rng))
        timings[size] = p50_ms(lambda r=result: run(r), small if size <= 16 * KB else large)
        label = f"{size // KB} KB mixed" if size < MB else "1 MB mixed"
        print(f"| {label} | {timings[size]:.3f} | {timings[size] * MB / size:.1f} |")
    print(f"\nGrowth 256 KB -> 1 MB: x{timings[MB] / timings[256 * KB]:.2f} (linear: x4)\n")

    ascii_4k = result_of(("The weather in Lisbon is sunny. " * 200)[: 4 * KB])
    print(f"4 KB plain-ASCII result: p50 {p50_ms(lambda: run(ascii_4k), small):.3f} ms\n")

    print("### Pathological inputs: time at 256 KB and 1 MB (linear: x4)\n")
    print("| input | 256 KB ms | 1 MB ms | growth |")
    print("|---|---:|---:|---:|")
    for name, make in ADVERSARIAL.items():
        quarter, full = result_of(make(256 * KB)), result_of(make(MB))
        a = p50_ms(lambda r=quarter: run(r), 3)
        b = p50_ms(lambda r=full: run(r), 3)
        print(f"| {name} | {a:.1f} | {b:.1f} | x{b / a:.2f} |")

    print("\n### Per detector, 1 MB mixed\n")
    text = mixed_text(MB, rng)
    fields = list(model_visible(result_of(text)))
    injection, poisoning, secrets = InjectionDetector(), PoisoningDetector(), SecretsDetector()
    print("| detector | p50 ms |")
    print("|---|---:|")
    print(f"| injection | {p50_ms(lambda: injection.scan_fields(fields, tools=SESSION), large):.1f} |")
    print(f"| secrets and PII | {p50_ms(lambda: secrets.scan_fields(fields), large):.1f} |")
    print(f"| poisoning rules | {p50_ms(lambda: poisoning.scan_text(text), large):.1f} |")
    print(f"\n(json size of the 1 MB result: {len(json.dumps(result_of(text))) // KB} KB)")
    secrets_pass(rng, small, large)
    learned_tier(rng, small, large)


# Configuration files and code, where key names (`token`, `api_key`, `secret`) are everywhere:
# the text that makes a keyword screen run most of its rules.
SECRETS_HEAVY = (
    'API_BASE_URL = "https://api.internal/v2"\nauth_token = os.environ["AUTH_TOKEN"]\n'
    "def refresh_access_token(session, secret_name):\n"
    "    return session.post(TOKEN_URL, data={'key': secret_name})\n"
    "password_hash = bcrypt(password)  # never stored raw\n"
)


def secrets_pass(rng: random.Random, small: int, large: int) -> None:
    """The secrets/PII pass alone (the gitleaks pack, Ostiary's own rules, PII), as the
    inspection runs it over a result's fields, and the pack without its keyword screen."""
    secrets = SecretsDetector()
    assert secrets.pack is not None
    every_rule = list(range(len(secrets.pack.rules)))
    print("\n### Secrets and PII pass (one core)\n")
    print("| input | p50 ms | pack rules, no keyword screen: p50 ms |")
    print("|---|---:|---:|")
    for label, size, text in (
        ("4 KB mixed", 4 * KB, mixed_text(4 * KB, rng)),
        ("4 KB config and code", 4 * KB, (SECRETS_HEAVY * (4 * KB // len(SECRETS_HEAVY) + 1))[: 4 * KB]),
        ("1 MB mixed", MB, mixed_text(MB, rng)),
        ("1 MB config and code", MB, (SECRETS_HEAVY * (MB // len(SECRETS_HEAVY) + 1))[:MB]),
    ):
        fields = list(model_visible(result_of(text)))
        repeat = small if size <= 16 * KB else large
        screened = p50_ms(lambda f=fields: secrets.scan_fields(f), repeat)
        unscreened = p50_ms(
            lambda f=fields: [list(secrets.pack.find(t, rules=every_rule)) for _, t in f],  # type: ignore[union-attr]
            repeat if size <= 16 * KB else 3,
        )
        print(f"| {label} | {screened:.3f} | {unscreened:.3f} |")


# Prose the rules neither flag nor clear: every word is ordinary, so the learned tier must read it.
UNCLEARED = (
    "Thanks for the update on the migration. The remaining consumers move next sprint, and the "
    "dashboards will follow once the new queue has run a full week without incidents. "
)


def learned_tier(rng: random.Random, small: int, large: int) -> None:
    """Both tiers: the rules alone, the learned model alone, and both as the inspection runs them
    (rules inline, model on its thread pool) on a result the first pass cannot clear."""
    import asyncio  # noqa: PLC0415
    import resource  # noqa: PLC0415

    from ostiary.config import Config  # noqa: PLC0415
    from ostiary.detection import learned  # noqa: PLC0415
    from ostiary.inspections import injection as inspection  # noqa: PLC0415
    from ostiary.testing import judge, tool_result  # noqa: PLC0415

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = learned.LinearModel.load(learned.shipped("injection"))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rules = InjectionDetector()
    both = InjectionDetector(model=model)
    prose_4k = (UNCLEARED * 40)[: 4 * KB]
    assert not rules.scan(prose_4k).flagged
    mixed_1m = mixed_text(MB, rng)
    print("\n### Learned tier (injection model), CPU time, one core\n")
    print("| input | rules p50 ms | model p50 ms | rules + model p50 ms |")
    print("|---|---:|---:|---:|")
    for label, text, repeat in (
        ("4 KB prose, not cleared", prose_4k, small),
        ("1 MB mixed", mixed_1m, large),
    ):
        fields = list(model_visible(result_of(text)))
        joined = "\n".join(t for _, t in fields)
        r = p50_ms(lambda f=fields: rules.scan_fields(f), repeat)
        m = p50_ms(lambda j=joined: model.score(j), repeat)
        b = p50_ms(lambda f=fields: both.scan_fields(f), repeat)
        print(f"| {label} | {r:.3f} | {m:.3f} | {b:.3f} |")
    print(f"\nPeak RSS of this process: {after / 1024:.1f} MB after loading the model "
          f"({(after - before) / 1024:.1f} MB for loading it)")  # fmt: skip

    async def wall(config: Config, repeat: int) -> float:
        built = inspection.build({}, config)
        case = tool_result("srv", "fetch", prose_4k)
        await judge(built, case)
        samples = []
        for _ in range(repeat):
            started = time.perf_counter_ns()
            await judge(built, case)
            samples.append((time.perf_counter_ns() - started) / 1e6)
        return statistics.median(samples)

    async def compare() -> tuple[float, float]:
        off: list[float] = []
        on: list[float] = []
        for _ in range(5):  # alternate, so load on the shared machine hits both alike
            off.append(await wall(Config(detectors={"model": "off"}), small // 5))
            on.append(await wall(Config(detectors={"model": "on"}), small // 5))
        return statistics.median(off), statistics.median(on)

    off, on = asyncio.run(compare())
    print("\n### Injection inspection on a 4 KB result the first pass cannot clear (wall time)\n")
    print("| learned tier | p50 ms |")
    print("|---|---:|")
    print(f"| off | {off:.3f} |")
    print(f"| on (inline up to 8 KB, thread pool above) | {on:.3f} |")
    print(f"\nAdded by the learned tier: {on - off:.3f} ms")


if __name__ == "__main__":
    main()
