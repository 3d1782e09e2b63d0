"""`ostiary detect {injection|poisoning|secrets}`: run one detector over JSON Lines on stdin.

Each input line is an object with an `id` and the content fields (`text` for injection and
secrets; `name`, `description`, `input_schema` for poisoning; for injection, optionally `tools`,
the session's tool names, and `tool`, the one that returned the text); each output line is
`{"id", "flagged", "score", "findings"}`. A line that cannot be read produces an `error` line for
its id (or line number) and the run goes on. Findings carry rule, field path and span, never the
matched text, so the output is safe to share. `--explain` adds, for injection and poisoning, an
`explain` list naming each finding's tier (rules or model), score and the text of its span, for
the person deciding whether the verdict is right.

The exit status is 0 when nothing was flagged, 1 when some input was flagged, 2 when some line
could not be read, so `ostiary detect` can gate a pipeline.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import orjson
import typer

from ostiary.detection.findings import Report

app = typer.Typer(help="Run a content detector over JSON Lines on stdin; one JSON line out per input.")

Scan = Callable[[dict[str, Any]], dict[str, Any]]


class InputError(ValueError):
    """A line that is not a usable input object; reported for that line only."""


def _text(item: dict[str, Any]) -> str:
    text = item.get("text")
    if not isinstance(text, str):
        raise InputError('"text" must be a string')
    return text


def _tools(item: dict[str, Any]) -> frozenset[str]:
    names = item.get("tools", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError("`tools` must be a list of tool names")
    return frozenset(names)


def _tool(item: dict[str, Any]) -> frozenset[str]:
    name = item.get("tool")
    if name is not None and not isinstance(name, str):
        raise InputError("`tool` must be a tool name")
    return frozenset({name} if name else ())


def run(scan: Scan, source: TextIO, sink: TextIO) -> int:
    """Process every line; return how many lines were errors."""
    return run_counting(scan, source, sink)[0]


def run_counting(scan: Scan, source: TextIO, sink: TextIO) -> tuple[int, int]:
    """Process every line; return how many lines were errors and how many were flagged."""
    errors = flagged = 0
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        ident: Any = number
        try:
            item = orjson.loads(line)
            if not isinstance(item, dict):
                raise InputError("each line must be a JSON object")
            ident = item.get("id", number)
            out = {"id": ident, **scan(item)}
            flagged += bool(out.get("flagged"))
        except (orjson.JSONDecodeError, InputError) as exc:
            errors += 1
            reason = "not valid JSON" if isinstance(exc, orjson.JSONDecodeError) else str(exc)
            out = {"id": ident, "error": reason}
        sink.write(orjson.dumps(out).decode() + "\n")
    sink.flush()
    return errors, flagged


def exit_status(errors: int, flagged: int) -> int:
    return 2 if errors else 1 if flagged else 0


def _definition(item: dict[str, Any]) -> dict[str, Any]:
    definition: dict[str, Any] = {}
    for source, target in (("name", "name"), ("description", "description"), ("input_schema", "inputSchema")):
        if source in item:
            definition[target] = item[source]
    if not definition:
        raise InputError('expected "name", "description" or "input_schema"')
    return definition


def _explain(report: Report, strings: dict[str, str]) -> list[dict[str, Any]]:
    """Why an input was flagged, for a person: each finding with the text of its span."""
    out = []
    for f in sorted(report.findings, key=lambda f: -f.weight):
        text = strings.get(f.path, "")
        excerpt = text[f.start : f.end] if f.layer == "raw" else ""
        if len(excerpt) > 160:
            excerpt = excerpt[:157] + "..."
        out.append({"tier": "model" if f.rule.endswith(".model") else "rules", "rule": f.rule,
                    "score": round(f.weight, 3), "path": f.path, "span": [f.start, f.end],
                    "layer": f.layer, "excerpt": excerpt})  # fmt: skip
    return out


def scanner(
    kind: str,
    threshold: float = 0.5,
    kinds: frozenset[str] = frozenset({"secret", "pii"}),
    classifier: Path | None = None,
    model: str = "auto",
    model_threshold: str | float = "fpr1",
    explain: bool = False,
) -> Scan:
    """The function `ostiary detect KIND` applies to each input object (also used by eval/run.py).

    `model` is `detectors.model` (auto, on, off): the learned tier for injection and poisoning."""
    if kind == "secrets":
        from ostiary.detection.secrets import SecretsDetector, SecretsOptions  # noqa: PLC0415

        secrets = SecretsDetector(SecretsOptions(kinds=kinds))
        return lambda item: secrets.scan(_text(item), "/text").to_dict()
    if kind not in ("injection", "poisoning"):
        raise ValueError(f"unknown detector {kind!r}")
    from ostiary.config import ConfigError  # noqa: PLC0415
    from ostiary.detection import settings  # noqa: PLC0415

    try:
        learned = settings.model_for(kind, model)
        cut = settings.model_threshold(learned, model_threshold, "--model-threshold")
    except ConfigError as exc:
        raise ValueError(str(exc)) from exc
    if kind == "injection":
        from ostiary.detection.injection import InjectionDetector, InjectionOptions  # noqa: PLC0415

        extra = None
        if classifier is not None:
            from ostiary.detection.ml import ClassifierOptions, OnnxClassifier  # noqa: PLC0415

            extra = OnnxClassifier(ClassifierOptions(model=classifier)).findings
        injection = InjectionDetector(InjectionOptions(threshold, cut), classifier=extra, model=learned)

        def scan_text(item: dict[str, Any]) -> dict[str, Any]:
            text = _text(item)
            report = injection.scan(text, "/text", _tools(item), _tool(item))
            out = report.to_dict()
            if explain:
                out["explain"] = _explain(report, {"/text": text})
            return out

        return scan_text
    from ostiary.detection.poisoning import PoisoningDetector, PoisoningOptions  # noqa: PLC0415
    from ostiary.detection.walker import Walk  # noqa: PLC0415

    poisoning = PoisoningDetector(PoisoningOptions(threshold=threshold, model_threshold=cut), model=learned)

    def scan(item: dict[str, Any]) -> dict[str, Any]:
        definition = _definition(item)
        report = poisoning.scan_definition(definition)
        out = report.to_dict()
        if explain:
            out["explain"] = _explain(report, dict(iter(Walk(definition))))  # Walk has `keys`: not a mapping
        return out

    return scan


_THRESHOLD = typer.Option(0.5, help="Rules' score at or above which an input is flagged.")
_CLASSIFIER = typer.Option(None, help="A local ONNX classifier to add to the rules (ostiary[ml]).")
_MODEL = typer.Option("auto", help="The learned tier: auto (when shipped), on, off.")
_MODEL_THRESHOLD = typer.Option("fpr1", help="Learned tier's threshold: a probability, or fpr1 / fpr2.")
_EXPLAIN = typer.Option(False, "--explain", help="Add each finding's tier, score and text to the output.")


def _point(value: str) -> str | float:
    try:
        return float(value)
    except ValueError:
        return value


def _run(scan: Scan) -> None:
    errors, flagged = run_counting(scan, sys.stdin, sys.stdout)
    raise typer.Exit(exit_status(errors, flagged))


@app.command()
def injection(
    threshold: float = _THRESHOLD,
    classifier: Path | None = _CLASSIFIER,
    model: str = _MODEL,
    model_threshold: str = _MODEL_THRESHOLD,
    explain: bool = _EXPLAIN,
) -> None:
    """Prompt injection in `text`."""
    try:
        scan = scanner("injection", threshold, classifier=classifier, model=model,
                       model_threshold=_point(model_threshold), explain=explain)  # fmt: skip
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _run(scan)


@app.command()
def poisoning(
    threshold: float = _THRESHOLD,
    model: str = _MODEL,
    model_threshold: str = _MODEL_THRESHOLD,
    explain: bool = _EXPLAIN,
) -> None:
    """Poisoned tool definitions: `name`, `description`, `input_schema`."""
    try:
        scan = scanner(
            "poisoning", threshold, model=model, model_threshold=_point(model_threshold), explain=explain
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _run(scan)


@app.command()
def secrets(kinds: str = typer.Option("secret,pii", help="Comma-separated: secret, pii.")) -> None:
    """Credentials and personal data in `text`."""
    chosen = frozenset(k.strip() for k in kinds.split(",") if k.strip())
    if not chosen or not chosen <= {"secret", "pii"}:
        raise typer.BadParameter("kinds must be secret, pii or both")
    _run(scanner("secrets", kinds=chosen))
