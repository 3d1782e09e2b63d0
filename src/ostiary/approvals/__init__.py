"""Human approval: a held call waits for a named reviewer, bound to exactly what was asked.

`ApprovalService` (service.py) is the pipeline's Approver; requests live in the store
(store.py), decisions reach the holding gateway through the broker (broker.py), and reviewers
answer in the conversation (prompt.py), from `ostiary approvals`, or over the HTTP API
(client_side/approvals_api.py). See docs/approvals.md.
"""

from __future__ import annotations

from ostiary.approvals.settings import ApprovalSettings, approval_settings

__all__ = ["ApprovalSettings", "approval_settings"]
