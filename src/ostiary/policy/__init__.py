"""The policy engine: who may call what, with which arguments. Pure: no I/O but reading the file.

See docs/policy.md for the file format and worked examples.
"""

from ostiary.policy.engine import CompiledPolicy, Explanation, PolicyDecision, Request, Step
from ostiary.policy.loader import PolicyError, load, parse
from ostiary.policy.model import Effect, PolicyDocument, Rule

__all__ = [
    "CompiledPolicy",
    "Effect",
    "Explanation",
    "PolicyDecision",
    "PolicyDocument",
    "PolicyError",
    "Request",
    "Rule",
    "Step",
    "load",
    "parse",
]
