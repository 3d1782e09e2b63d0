"""Policy texts and a pipeline harness shared by the policy tests."""

from __future__ import annotations

from typing import Any

from ostiary import messages
from ostiary.identity import Principal
from ostiary.pipeline import Exchange

TEAM_POLICY = """
version: 1
defaults: {read_only: allow, other: deny}
read_only:
  tools:
    fs: [read_file, list_directory]
rules:
  - id: contractors-no-files
    effect: deny
    description: contractors have no access to the file server
    principals: {groups: [contractor]}
    servers: [fs]
  - id: devs-write-data
    effect: allow
    principals: {groups: [dev]}
    servers: [fs]
    tools: [write_file]
    when: path_within(args.path, "/srv/data")
  - id: mail-internal
    effect: allow
    principals: {groups: [dev, support]}
    servers: [mail]
    tools: [send_email]
    when: args.to.all(a, email_domain_in(a, ["example.com", "example.org"]))
  - id: support-mail-external-needs-approval
    effect: approve
    principals: {groups: [support]}
    servers: [mail]
    tools: [send_email]
  - id: no-passwords-to-deploy
    effect: redact
    principals: {groups: [ops]}
    servers: [deploy]
    tools: [run]
    fields: [password, env.TOKEN]
"""

ALICE = Principal("alice", frozenset({"dev"}), method="jwt")
BOB = Principal("bob", frozenset({"support"}), method="jwt")
CAROL = Principal("carol", frozenset({"contractor", "dev"}), method="jwt")
OPS = Principal("deploy-bot", frozenset({"ops"}), client_id="ci", method="api_key")

FS_TOOLS: list[dict[str, Any]] = [
    {"name": "read_file", "inputSchema": {"type": "object"}},
    {"name": "list_directory", "inputSchema": {"type": "object"}},
    {"name": "write_file", "inputSchema": {"type": "object"}},
    # No annotations at all: its risk is unknown, so nobody gets it by default.
    {"name": "delete_file", "inputSchema": {"type": "object"}},
]
MAIL_TOOLS: list[dict[str, Any]] = [{"name": "send_email", "inputSchema": {"type": "object"}}]


def call(name: str, arguments: dict[str, Any] | None = None) -> messages.Message:
    return messages.request(1, "tools/call", {"name": name, "arguments": arguments or {}})


def exchange(principal: Principal, method: str, server: str | None, target: str | None = None) -> Exchange:
    return Exchange(principal=principal, session_id="s1", method=method, server=server, target=target)
