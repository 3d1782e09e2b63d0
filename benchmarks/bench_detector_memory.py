"""What the detectors' RE2 automata grow to on varied text, and what a smaller budget would cost.

    .venv/bin/python benchmarks/bench_detector_memory.py                          # as shipped
    .venv/bin/python benchmarks/bench_detector_memory.py --set-mem 16 --pattern-mem 8

The injection, poisoning and secrets detectors, as the quick start builds them (no learned tier),
read every text of the evaluation corpus (`eval/corpus/*.jsonl`: a definition's record as JSON)
once, then once more. RE2 keeps the DFA states a search builds, up to each pattern's memory
budget (Ostiary sets 64 MB), so the first pass grows the process's memory and the second, over
texts already seen, mostly reuses states. `--set-mem` and `--pattern-mem` are a what-if: they
cap the budget of the rule sets (`re2.Set`) and of single patterns, in MB, as a change to
`detection/` would. The digest of every text's scores and findings shows whether a budget
changed what is found (below about 2 MB a pattern, RE2 logs "DFA out of memory" and falls back
to its slower NFA).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import re2

CORPUS = Path(__file__).resolve().parent.parent / "eval" / "corpus"


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def texts() -> list[str]:
    found = []
    for name in ("injection", "poisoning", "secrets"):
        for line in (CORPUS / f"{name}.jsonl").read_text(encoding="utf-8").split("\n"):
            if line.strip():
                record = json.loads(line)
                found.append(str(record.get("text") or json.dumps(record)))
    return found


def _budget(options: Any, mb: int) -> Any:
    """Fresh options with at most `mb` MB (Ostiary's options set nothing but `max_mem`; a copy,
    because a RuleSet compiles its set and its patterns with one options object)."""
    capped = re2.Options()
    capped.max_mem = min(options.max_mem if options is not None else capped.max_mem, mb << 20)
    return capped


def cap(set_mb: int | None, pattern_mb: int | None) -> None:
    """Caps RE2's memory budget of every set and pattern compiled from now on."""
    if pattern_mb is not None:
        compile_pattern = re2.compile

        def capped_compile(pattern: Any, options: Any = None) -> Any:
            return compile_pattern(pattern, _budget(options, pattern_mb))

        re2.compile = capped_compile
    if set_mb is not None:
        search_set = re2.Set.SearchSet

        def capped_set(options: Any) -> Any:
            return search_set(_budget(options, set_mb))

        re2.Set.SearchSet = staticmethod(capped_set)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set-mem", type=int, help="what-if: each rule set's RE2 budget, MB")
    parser.add_argument("--pattern-mem", type=int, help="what-if: each single pattern's RE2 budget, MB")
    args = parser.parse_args()
    cap(args.set_mem, args.pattern_mem)
    from ostiary.detection import injection, poisoning, secrets  # noqa: PLC0415  (after the caps)

    corpus = texts()
    detectors = (injection.InjectionDetector(), poisoning.PoisoningDetector(), secrets.SecretsDetector())
    inj, poi, sec = detectors
    gc.collect()
    start = rss_mb()
    seen = hashlib.sha256()
    passes = []
    for _ in range(2):
        began = time.process_time()
        for text in corpus:
            found = (inj.scan(text), poi.scan_text(text), sec.find(text))
            seen.update(
                repr((found[0].score, found[1].score, [(f.rule, f.start, f.end) for f in found[2]])).encode()
            )
        passes.append(time.process_time() - began)
        gc.collect()
        passes.append(rss_mb() - start)
    print(
        f"sets {args.set_mem or 'as shipped'} MB, patterns {args.pattern_mem or 'as shipped'} MB, "
        f"{len(corpus)} texts: +{passes[1]:.1f} MB after the first pass ({passes[0]:.2f} s CPU), "
        f"+{passes[3]:.1f} MB after the second ({passes[2]:.2f} s); findings digest {seen.hexdigest()[:12]}"
    )


if __name__ == "__main__":
    main()
