"""The inspection pipeline: the one path every message takes, and its extension point.

Inspections return verdicts; only the pipeline forwards. See ARCHITECTURE.md, "Adding an
inspection".
"""

from ostiary.pipeline.chain import Decision, Pipeline, Stage
from ostiary.pipeline.exchange import Exchange, Hook
from ostiary.pipeline.inspection import Inspection, Mode
from ostiary.pipeline.observer import Approver, Observer
from ostiary.pipeline.verdict import ALLOW, Action, Verdict, allow, deny, hold, modify

__all__ = [
    "ALLOW",
    "Action",
    "Approver",
    "Decision",
    "Exchange",
    "Hook",
    "Inspection",
    "Mode",
    "Observer",
    "Pipeline",
    "Stage",
    "Verdict",
    "allow",
    "deny",
    "hold",
    "modify",
]
