"""The `approvals:` section: how held calls are answered, for how long, and who is told.

A typed record: an unknown key is a configuration error, not a silently ignored typo.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from ostiary.config import Config, ConfigError
from ostiary.configrecord import Record, field

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class WebhookSettings(Record):
    """Where a JSON notice goes when a request is created and when it is decided."""

    url: str
    # HMAC-SHA256 key for the `Ostiary-Signature` header; `${env:…}` references are resolved.
    secret: str
    timeout: float = field(default=5.0, metadata={"gt": 0})

    def check(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
            return
        if not self.url.startswith("${"):  # a reference: checked when it is resolved, at start
            raise ValueError("approvals.webhook.url must be https (http only on loopback)")


class ApprovalSettings(Record):
    enabled: bool = True
    # wait: the call stays open until decided or expired. deferred: the caller is told at once
    # that approval was requested, and an identical call within the lifetime goes through.
    mode: Literal["wait", "deferred"] = "wait"
    # Seconds a request waits before it expires (denied); a rule's own `expires` wins.
    expires: float = field(default=600.0, metadata={"gt": 0})
    # Who may approve when the deciding rule names nobody: principals, `group:…`, `scope:…`, `self`.
    approvers: list[str] = field(default_factory=list)
    # Ask the host's user in the conversation (elicitation, or an input request) when `self` may approve.
    in_conversation: bool = True
    # Seconds between looks at the store for decisions made elsewhere (the SQLite path; on
    # PostgreSQL notifications wake the call and this is only the safety net).
    poll_interval: float = field(default=0.5, metadata={"gt": 0})
    # Seconds between a holding gateway's heartbeats; a request whose holder missed three is abandoned.
    heartbeat: float = field(default=5.0, metadata={"gt": 0})
    # Seconds between progress notifications to a client that sent a progress token.
    progress_interval: float = field(default=5.0, metadata={"gt": 0})
    webhook: WebhookSettings | None = None


def approval_settings(config: Config) -> ApprovalSettings:
    """The section as a record; a ConfigError that names the key if it is not valid."""
    data: Any = config.approvals or {}
    if isinstance(data, ApprovalSettings):  # a Config that declares the section as this record
        return data
    try:
        return ApprovalSettings.validate(data)
    except Exception as exc:
        from pydantic import ValidationError  # noqa: PLC0415

        if not isinstance(exc, ValidationError):
            raise
        problems = "; ".join(
            f"approvals.{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ConfigError(problems) from None
