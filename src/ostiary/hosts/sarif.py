"""A scan as SARIF 2.1.0, the format CI systems (GitHub code scanning among them) read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ostiary import __version__
from ostiary.hosts.scan import ScanReport

RULES = {
    "scan.inline-credential": "A credential is written inline in a host's MCP configuration",
    "scan.command-not-found": "A server's command cannot be found",
    "scan.plain-http": "A remote server is reached over plain HTTP",
    "scan.unreachable": "A server could not be started or reached to read its definitions",
    "scan.unreadable": "A host's MCP configuration cannot be read",
    "scan.invalid-entry": "A server entry is not valid",
    "poisoning.definition": "A tool definition carries instructions for the model",
    "poisoning.instructions": "A server's instructions carry hidden directions",
    "pinning.changed": "A tool definition changed since the last scan",
}


def to_sarif(report: ScanReport) -> dict[str, Any]:
    results = []
    for issue in report.issues:
        qualified = "/".join(p for p in (issue.host, issue.server, issue.tool or "") if p)
        results.append(
            {
                "ruleId": issue.rule,
                "level": issue.level,
                "message": {"text": f"{qualified}: {issue.message}" if qualified else issue.message},
                "locations": [
                    {
                        "physicalLocation": {"artifactLocation": {"uri": Path(issue.file).as_uri()}},
                        "logicalLocations": [
                            {"name": issue.server or issue.host, "fullyQualifiedName": qualified}
                        ],
                    }
                ],
            }
        )
    used = sorted({i.rule for i in report.issues})
    rules = [{"id": r, "shortDescription": {"text": RULES.get(r, r)}} for r in used]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "ostiary-scan", "version": __version__, "rules": rules}},
                "results": results,
            }
        ],
    }
