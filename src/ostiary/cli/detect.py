"""`ostiary detect {injection|poisoning|secrets}`: run one detector over JSON Lines on stdin.

Each input line is an object with an `id` and the content fields (`text` for injection and
secrets; `name`, `description`, `input_schema` for poisoning); each output line is
`{"id", "flagged", "score", "findings"}`. A line that cannot be read produces an `error` line for
its id (or line number) and the run goes on. Findings carry rule, field path and span, never the
matched text, so the output is safe to share.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import orjson
import typer

app = typer.Typer(help="Run a content detector over JSON Lines on stdin; one JSON line out per input.")

Scan = Callable[[dict[str, Any]], dict[str, Any]]


class InputError(ValueError):
    """A line that is not a usable input object; reported for that line only."""


def _text(item: dict[str, Any]) -> str:
    text = item.get("text")
    if not isinstance(text, str):
        raise InputError('"text" must be a string')
    return text


def run(scan: Scan, source: TextIO, sink: TextIO) -> int:
    """Process every line; return how many lines were errors."""
    errors = 0
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
        except (orjson.JSONDecodeError, InputError) as exc:
            errors += 1
            reason = "not valid JSON" if isinstance(exc, orjson.JSONDecodeError) else str(exc)
            out = {"id": ident, "error": reason}
        sink.write(orjson.dumps(out).decode() + "\n")
    sink.flush()
    return errors


def scanner(
    kind: str,
    threshold: float = 0.5,
    kinds: frozenset[str] = frozenset({"secret", "pii"}),
    model: Path | None = None,
) -> Scan:
    """The function `ostiary detect KIND` applies to each input object (also used by eval/run.py)."""
    if kind == "injection":
        from ostiary.detection.injection import InjectionDetector, InjectionOptions  # noqa: PLC0415

        classifier = None
        if model is not None:
            from ostiary.detection.ml import ClassifierOptions, OnnxClassifier  # noqa: PLC0415

            classifier = OnnxClassifier(ClassifierOptions(model=model)).findings
        injection = InjectionDetector(InjectionOptions(threshold=threshold), classifier=classifier)
        return lambda item: injection.scan(_text(item), "/text").to_dict()
    if kind == "secrets":
        from ostiary.detection.secrets import SecretsDetector, SecretsOptions  # noqa: PLC0415

        secrets = SecretsDetector(SecretsOptions(kinds=kinds))
        return lambda item: secrets.scan(_text(item), "/text").to_dict()
    if kind != "poisoning":
        raise ValueError(f"unknown detector {kind!r}")
    from ostiary.detection.poisoning import PoisoningDetector, PoisoningOptions  # noqa: PLC0415

    poisoning = PoisoningDetector(PoisoningOptions(threshold=threshold))

    def scan(item: dict[str, Any]) -> dict[str, Any]:
        definition: dict[str, Any] = {}
        for source, target in (
            ("name", "name"),
            ("description", "description"),
            ("input_schema", "inputSchema"),
        ):
            if source in item:
                definition[target] = item[source]
        if not definition:
            raise InputError('expected "name", "description" or "input_schema"')
        return poisoning.scan_definition(definition).to_dict()

    return scan


_THRESHOLD = typer.Option(0.5, help="Score at or above which an input is flagged.")
_MODEL = typer.Option(None, help="A local ONNX classifier to add to the rules (ostiary[ml]).")


@app.command()
def injection(
    threshold: float = _THRESHOLD,
    model: Path | None = _MODEL,
) -> None:
    """Prompt injection in `text`."""
    try:
        scan = scanner("injection", threshold, model=model)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    run(scan, sys.stdin, sys.stdout)


@app.command()
def poisoning(threshold: float = _THRESHOLD) -> None:
    """Poisoned tool definitions: `name`, `description`, `input_schema`."""
    run(scanner("poisoning", threshold), sys.stdin, sys.stdout)


@app.command()
def secrets(kinds: str = typer.Option("secret,pii", help="Comma-separated: secret, pii.")) -> None:
    """Credentials and personal data in `text`."""
    chosen = frozenset(k.strip() for k in kinds.split(",") if k.strip())
    if not chosen or not chosen <= {"secret", "pii"}:
        raise typer.BadParameter("kinds must be secret, pii or both")
    run(scanner("secrets", kinds=chosen), sys.stdin, sys.stdout)
