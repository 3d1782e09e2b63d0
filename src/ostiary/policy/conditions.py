"""Rule conditions in CEL (cel-python), compiled once at load and evaluated only for matching rules.

CEL is small, side-effect free and always terminates, which is what a reviewed policy needs. The
functions added here cover the argument checks policies most often get wrong when written by
hand: a path that must stay under a directory after `..` is resolved, and an e-mail domain.
Symbolic links are out of scope: the gateway cannot see the server's file system, so
`path_within` reasons about the text of the path only.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    import celpy
    from celpy import celtypes
    from celpy.adapter import json_to_cel
    from celpy.evaluation import Evaluator


def _load_cel() -> None:
    """cel-python and what it imports (lark, pendulum, dateutil) load with the first policy that
    has a condition: most policies have none. Every use below comes after it."""
    global celpy, celtypes, json_to_cel, Evaluator  # noqa: PLW0603
    import celpy  # noqa: PLC0415
    from celpy import celtypes  # noqa: PLC0415
    from celpy.adapter import json_to_cel  # noqa: PLC0415
    from celpy.evaluation import Evaluator  # noqa: PLC0415


class ConditionError(Exception):
    """A condition that cannot be compiled; the message says where in the expression."""

    def __init__(self, message: str, rule_index: int | None = None) -> None:
        super().__init__(message)
        self.rule_index = rule_index


def normalised_path(path: str) -> str | None:
    """The absolute, `..`-free form of a path or file:// URI; None when it cannot be judged."""
    if path.startswith("file://"):
        path = unquote(path.removeprefix("file://"))
    if "\x00" in path or not path.startswith("/"):
        return None
    normal = posixpath.normpath(path)
    # POSIX keeps a leading "//" as implementation-defined; for a policy it is just "/".
    return "/" + normal.lstrip("/")


def path_within(path: celtypes.Value, directory: celtypes.Value) -> celtypes.BoolType:
    """True when `path` names `directory` or something below it, after normalisation."""
    if not isinstance(path, str) or not isinstance(directory, str):
        return celtypes.BoolType(False)
    normal, root = normalised_path(str(path)), normalised_path(str(directory))
    if normal is None or root is None:
        return celtypes.BoolType(False)
    return celtypes.BoolType(normal == root or normal.startswith(root.rstrip("/") + "/"))


def email_domain(address: celtypes.Value) -> celtypes.StringType:
    """The lower-cased domain of an address (`""` when it is not one address)."""
    if not isinstance(address, str):
        return celtypes.StringType("")
    text = str(address).strip()
    if text.endswith(">") and "<" in text:  # "Name <user@example.com>"
        text = text[text.rindex("<") + 1 : -1]
    # Exactly one '@' and no quoting: anything cleverer is refused rather than guessed at.
    local, at, domain = text.partition("@")
    if not at or not local or not domain or any(c in text for c in ' ,;<>"\\') or "@" in domain:
        return celtypes.StringType("")
    return celtypes.StringType(domain.lower().rstrip("."))


def email_domain_in(address: celtypes.Value, domains: celtypes.Value) -> celtypes.BoolType:
    """True when the address's domain is one of `domains` (exactly; subdomains are not implied)."""
    if not isinstance(domains, list):
        return celtypes.BoolType(False)
    domain = str(email_domain(address))
    return celtypes.BoolType(bool(domain) and domain in {str(d).lower() for d in domains})


def hosts(value: celtypes.Value) -> celtypes.ListType:
    """The lower-cased host of every URL and the domain of every e-mail address in any string of
    `value` (arguments, typically): where a call could send data."""
    from ostiary.provenance.fragments import destinations  # noqa: PLC0415  (flow rules only)

    found: set[str] = set()
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.update(destinations(str(item)))
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return celtypes.ListType([celtypes.StringType(h) for h in sorted(found)])


def hosts_within(value: celtypes.Value, domains: celtypes.Value) -> celtypes.BoolType:
    """True when every destination in `value` (see `hosts`) is one of `domains` or below one."""
    if not isinstance(domains, list):
        return celtypes.BoolType(False)
    allowed = [str(d).lower().strip(".") for d in domains]
    return celtypes.BoolType(
        all(any(h == d or h.endswith("." + d) for d in allowed) for h in map(str, hosts(value)))
    )


FUNCTIONS: dict[str, Any] = {
    "path_within": path_within,
    "email_domain": email_domain,
    "email_domain_in": email_domain_in,
    "hosts": hosts,
    "hosts_within": hosts_within,
}

# What the provenance stage knows of the session and of the call (docs/provenance.md).
FLOW_VARIABLES = ("session", "args_from", "labels")
VARIABLES = ("args", "principal", "tool", "server", "annotations", *FLOW_VARIABLES)


@dataclass(frozen=True, slots=True)
class Condition:
    source: str
    # Evaluates the compiled expression over an activation (a dict of CEL values).
    run: Callable[[dict[str, Any]], Any]
    # The variables the expression mentions: only those are converted to CEL values per call,
    # since conversion costs about as much as a small evaluation.
    variables: frozenset[str] = frozenset(VARIABLES)

    def holds(self, activation: Mapping[str, Any]) -> bool | None:
        """True or False; None when evaluation failed (a missing argument, a type error)."""
        try:
            value = self.run(dict(activation))
        except Exception:  # CELEvalError and the errors cel-python lets escape
            return None
        if isinstance(value, (celtypes.BoolType, bool)):
            return bool(value)
        return None


def compile_condition(environment: celpy.Environment, source: str) -> Condition:
    """Compile one expression (cel-python's parser is slow: callers share identical sources)."""
    try:
        ast = environment.compile(source)
    except Exception as exc:
        first = str(exc).strip().splitlines()
        raise ConditionError(
            f"not a valid CEL expression ({first[0] if first else type(exc).__name__})"
        ) from None
    mentioned = frozenset(v for v in VARIABLES if re.search(rf"\b{v}\b", source))
    # cel-python's runner rebuilds its base activation (functions, type annotations) on every
    # evaluation; it is never mutated (each evaluation clones it), so it is built once here.
    base = environment.program(ast, functions=FUNCTIONS).new_activation()

    def run(context: dict[str, Any]) -> Any:
        return Evaluator(ast=ast, activation=base).evaluate(context)

    return Condition(source, run, mentioned)


def new_environment() -> celpy.Environment:
    _load_cel()
    return celpy.Environment()


def to_cel(value: Any) -> celtypes.Value:
    """Plain JSON-like data as CEL values."""
    return json_to_cel(value)
