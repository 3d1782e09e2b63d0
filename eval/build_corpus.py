"""Build the evaluation corpus (eval/corpus/*.jsonl) from the sources in eval/sources/.

Deterministic: the same sources give the same corpus. Every item carries `source` (where the
text came from, or the attack class and its public write-up), `label` (malicious or benign) and
`split` (dev: rules were written against it; heldout: only measured).

    .venv/bin/python eval/build_corpus.py
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import pathlib
import random
import sys
import urllib.parse
from typing import Any

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE / "sources"))

import corpus_sources as sources  # noqa: E402
import secret_samples  # noqa: E402
import written_benign  # noqa: E402

MAX_CHUNKS_PER_SOURCE = 12
WRITTEN = "written for the Ostiary evaluation"
HOMOGLYPHS = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "i": "і"})


def split_of(key: str, heldout_share: float = 0.3) -> str:
    digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return "heldout" if digest / 0xFFFFFFFF < heldout_share else "dev"


def chunks(text: str, size: int = 1800) -> list[str]:
    out: list[str] = []
    current = ""
    for para in text.split("\n\n"):
        if current and len(current) + len(para) > size:
            out.append(current.strip())
            current = ""
        current += para + "\n\n"
    if current.strip():
        out.append(current.strip())
    return [c for c in out if len(c) > 20]


def benign_texts() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for n, (kind, text) in enumerate(written_benign.ITEMS):
        items.append({"text": text, "source": f"{WRITTEN} ({kind})", "kind": kind, "key": f"w{n}"})
    captured = (HERE / "sources/captured/texts.jsonl").read_text().splitlines()
    captured += (HERE / "sources/captured/results.jsonl").read_text().splitlines()
    for line in captured:
        row = json.loads(line)
        for n, chunk in enumerate(chunks(row["text"])[:MAX_CHUNKS_PER_SOURCE]):
            items.append(
                {"text": chunk, "source": row["source"], "kind": row["kind"], "key": f"{row['source']}#{n}"}
            )
    return items


def obfuscate(payload: str) -> str:
    """Apply the transform named by a payload's prefix (TAGS:, B64:, HOMO:, ...)."""
    mode, sep, body = payload.partition(":")
    if not sep or mode not in {"TAGS", "B64", "HOMO", "ZW", "URL", "HEX", "WIDE", "ANSI", "HTML", "BIDI"}:
        return payload
    if mode == "TAGS":
        return "Thanks for reading!" + "".join(chr(0xE0000 + ord(c)) for c in body)
    if mode == "B64":
        return "Reference data (base64): " + base64.b64encode(body.encode()).decode()
    if mode == "HOMO":
        return body.translate(HOMOGLYPHS)
    if mode == "ZW":
        return " ".join("\u200b".join(word) if len(word) > 3 else word for word in body.split(" "))
    if mode == "URL":
        return "See https://docs.example-help.net/q?topic=" + urllib.parse.quote(body)
    if mode == "HEX":
        return "Payload: " + body.encode().hex()
    if mode == "WIDE":
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in body)
    if mode == "ANSI":
        return "\x1b[8m" + body + "\x1b[0m"
    if mode == "HTML":
        return "<!-- " + body + " -->"
    return "\u202e" + body[::-1] + "\u202c"


def insert(carrier: str, payload: str, rng: random.Random) -> str:
    paras = carrier.split("\n\n")
    at = rng.randrange(len(paras) + 1)
    return "\n\n".join([*paras[:at], payload, *paras[at:]])


def injection_items() -> list[dict[str, Any]]:
    """Every item names its `origin`: the source a leave-one-source-out run holds out whole."""
    return sources.injection_items(benign_texts(), obfuscate, insert)


def definitions() -> list[dict[str, Any]]:
    rows = [
        json.loads(line) for line in (HERE / "sources/captured/definitions.jsonl").read_text().splitlines()
    ]
    out = []
    for row in rows:
        if row["kind"] == "instructions":
            continue
        d = row["definition"]
        item = {"name": d.get("name", ""), "description": d.get("description", "")}
        schema = d.get("inputSchema") or ({"arguments": d["arguments"]} if "arguments" in d else None)
        if schema is not None:
            item["input_schema"] = schema
        out.append({"item": item, "source": row["source"], "key": f"{row['source']}#{item['name']}"})
    return out


def place(item: dict[str, Any], payload: str, rng: random.Random) -> tuple[dict[str, Any], str]:
    """Put the payload in one model-visible place of a copy of a real definition."""
    poisoned = copy.deepcopy(item)
    props = (poisoned.get("input_schema") or {}).get("properties") or {}
    where = rng.choice(["description", "property", "enum", "default", "title"] if props else ["description"])
    if where == "description":
        poisoned["description"] = (poisoned.get("description") or "") + "\n\n" + payload
        return poisoned, where
    name = rng.choice(sorted(props))
    prop = props[name] if isinstance(props[name], dict) else {}
    props[name] = prop
    if where == "property":
        prop["description"] = (prop.get("description") or "") + " " + payload
    elif where == "enum":
        prop["enum"] = [*prop.get("enum", ["default"]), payload]
    elif where == "default":
        prop["default"] = payload
    else:
        prop["title"] = payload
    return poisoned, where


def poisoning_items() -> list[dict[str, Any]]:
    return sources.poisoning_items(definitions(), obfuscate, place)


def secrets_items() -> list[dict[str, Any]]:
    out = []
    for split, seed in (("dev", 11), ("heldout", 12)):
        for n, (cls, text, source) in enumerate(secret_samples.malicious(random.Random(seed), split)):
            out.append(
                {
                    "id": f"sec-m-{split}-{n:03d}",
                    "label": "malicious",
                    "split": split,
                    "class": cls,
                    "text": text,
                    "source": source,
                }
            )
        for n, (cls, text, source) in enumerate(secret_samples.benign(random.Random(seed + 100), split)):
            out.append(
                {
                    "id": f"sec-b-{split}-{n:03d}",
                    "label": "benign",
                    "split": split,
                    "class": cls,
                    "text": text,
                    "source": source,
                }
            )
    for n, b in enumerate(benign_texts()):
        out.append(
            {
                "id": f"sec-b-text-{n:04d}",
                "label": "benign",
                "split": split_of(b["key"]),
                "class": "document",
                "text": b["text"],
                "source": b["source"],
            }
        )
    return out


def main() -> None:
    target = HERE / "corpus"
    target.mkdir(exist_ok=True)
    for name, items in (
        ("injection", injection_items()),
        ("poisoning", poisoning_items()),
        ("secrets", secrets_items()),
    ):
        with (target / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")
        print(f"{name}: {len(items)} items", file=sys.stderr)


if __name__ == "__main__":
    main()
