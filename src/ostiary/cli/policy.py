"""`ostiary policy check FILE` and `ostiary policy explain`: review a policy before it is in force.

`check` is for CI on the repository that holds the policy; `explain` answers "why was this
allowed or denied?" for one principal, tool and arguments, naming the deciding rule and what
every other candidate rule lacked. Exit codes let scripts assert a decision: 0 allow (or allow
with redaction), 3 deny, 4 needs approval, 2 an unusable policy or input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ostiary import config as config_module
from ostiary.policy import CompiledPolicy, Effect, PolicyError, Request, load
from ostiary.policy.engine import Kind
from ostiary.policy.flow import deciding_facts
from ostiary.policy.settings import settings_from

app = typer.Typer(help="Check a policy file, or explain the decision it makes for one request.")

INVALID = 2
EXIT_CODES = {Effect.ALLOW: 0, Effect.REDACT: 0, Effect.DENY: 3, Effect.APPROVE: 4}


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(INVALID)


def _load(path: Path) -> CompiledPolicy:
    try:
        return load(path)
    except PolicyError as exc:
        raise _fail(str(exc)) from None


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="The policy file (YAML).")],
    config: Annotated[
        Path | None, typer.Option("--config", help="Also check server names in this config.")
    ] = None,
) -> None:
    """Validate a policy: YAML, schema, rule ids, and every CEL condition compiled."""
    policy = _load(file)
    rules = policy.document.rules
    if config is not None:
        try:
            servers = set(config_module.load(config).servers)
        except config_module.ConfigError as exc:
            raise _fail(str(exc)) from None
        unknown = sorted(
            {s for r in rules for s in r.servers if not any(c in s for c in "*?[") and s not in servers}
        )
        if unknown:
            raise _fail(f"{file}: rules name servers the configuration does not have: {', '.join(unknown)}")
    conditions = sum(1 for r in rules if r.when)
    typer.echo(f"{file}: ok ({len(rules)} rules, {conditions} conditions)")


@app.command()
def schema() -> None:
    """Print the policy file's JSON Schema (for editors and review tooling)."""
    from ostiary.configrecord import pydantic_model  # noqa: PLC0415
    from ostiary.policy import PolicyDocument  # noqa: PLC0415

    typer.echo(json.dumps(pydantic_model(PolicyDocument).model_json_schema(), indent=2))


def _json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(f"{option}: not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise _fail(f"{option}: must be a JSON object")
    return value


def _policy_path(policy: Path | None, config: config_module.Config | None) -> Path:
    if policy is not None:
        return policy
    if config is not None:
        options = next((i.options for i in config.inspections if i.name == "policy"), {})
        found = settings_from(options, config).path(config)
        if found is not None:
            return found
    raise _fail("give --policy FILE, or a --config whose policy inspection names a file")


def _flow_options(session: str | None, args_from: str | None, labels: str | None) -> dict[str, Any]:
    """Flow facts given on the command line; a variable not given stays absent, as in a gateway
    without the provenance stage."""
    found: dict[str, Any] = {}
    if session is not None:
        found["session"] = _json_object(session, "--session")
    if labels is not None:
        found["labels"] = _json_object(labels, "--labels")
    if args_from is not None:
        found["args_from"] = _json_object(args_from, "--args-from")
    return found


@app.command()
def explain(
    subject: Annotated[str, typer.Option("--subject", help="Who is calling.")],
    server: Annotated[str, typer.Option("--server", help="The server name as configured.")],
    policy: Annotated[
        Path | None, typer.Option("--policy", help="The policy file (default: from --config).")
    ] = None,
    group: Annotated[
        list[str] | None, typer.Option("--group", help="A group of the caller (repeatable).")
    ] = None,
    client: Annotated[str | None, typer.Option("--client", help="The client/agent id.")] = None,
    tool: Annotated[str | None, typer.Option("--tool", help="The tool name as the server knows it.")] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", help="A prompt name instead of a tool.")] = None,
    resource: Annotated[
        str | None, typer.Option("--resource", help="A resource URI instead of a tool.")
    ] = None,
    args: Annotated[str, typer.Option("--args", help="The call's arguments as a JSON object.")] = "{}",
    annotations: Annotated[str, typer.Option("--annotations", help="The tool's annotations as JSON.")] = "{}",
    config: Annotated[
        Path | None, typer.Option("--config", help="The gateway config (trusted annotations).")
    ] = None,
    session: Annotated[
        str | None,
        typer.Option("--session", help="Flow facts of the session as JSON (as `audit trace --json` shows)."),
    ] = None,
    args_from: Annotated[
        str | None, typer.Option("--args-from", help="What the arguments echo, as JSON (see --session).")
    ] = None,
    labels: Annotated[str | None, typer.Option("--labels", help="The tool's labels as JSON.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON.")] = False,
) -> None:
    """Show the decision for one request, the rule that makes it, and why the others do not."""
    from ostiary.identity import Principal  # noqa: PLC0415

    choices: list[tuple[Kind, str | None]] = [("tool", tool), ("prompt", prompt), ("resource", resource)]
    targets = [(kind, name) for kind, name in choices if name]
    if len(targets) != 1:
        raise _fail("give exactly one of --tool, --prompt or --resource")
    cfg = None
    if config is not None:
        try:
            cfg = config_module.load(config)
        except config_module.ConfigError as exc:
            raise _fail(str(exc)) from None
    compiled = _load(_policy_path(policy, cfg))
    trusted = bool(cfg and server in cfg.servers and cfg.servers[server].trust_annotations)
    kind, name = targets[0]
    request = Request(
        kind,
        server,
        name,
        _json_object(args, "--args"),
        _json_object(annotations, "--annotations"),
        trusted,
        **_flow_options(session, args_from, labels),
    )
    principal = Principal(subject=subject, groups=frozenset(group or ()), client_id=client, method="explain")
    explanation = compiled.explain(principal, request)
    decision = explanation.decision
    if as_json:
        document = {
            "decision": decision.effect.value,
            "rule": decision.rule_id,
            "reason": decision.reason,
            "read_only": explanation.read_only,
            "considered": [
                {"rule": s.rule_id, "effect": s.effect.value, "outcome": s.outcome} for s in explanation.steps
            ],
            **deciding_facts(decision.variables, request),
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        typer.echo(f"decision: {decision.effect.value}")
        typer.echo(f"rule:     {decision.rule_id or '(default)'}")
        typer.echo(f"reason:   {decision.reason}")
        trust = "trusted" if trusted else "not trusted"
        typer.echo(f"read-only: {'yes' if explanation.read_only else 'no'} (annotations {trust})")
        for variable, value in deciding_facts(decision.variables, request).get("facts", {}).items():
            typer.echo(f"{variable + ':':<9} {json.dumps(value, sort_keys=True)}")
        typer.echo(f"considered {len(explanation.steps)} rule(s) for this target:")
        for step in explanation.steps:
            typer.echo(f"  {step.rule_id:<32} {step.effect.value:<8} {step.outcome}")
    raise typer.Exit(EXIT_CODES[decision.effect])
