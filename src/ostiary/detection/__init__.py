"""Pure content detectors: tool-definition poisoning, prompt injection, secrets and PII.

Nothing here does I/O or keeps state between calls. Every detector runs in time linear in its
input (RE2 automata, bounded decoding) and reports findings by rule, field path and span, never
by the text it matched, so a finding can go to a log or a client without leaking what it found.
"""

from ostiary.detection.findings import Finding, Report, Severity
from ostiary.detection.injection import InjectionDetector
from ostiary.detection.poisoning import PoisoningDetector
from ostiary.detection.secrets import SecretsDetector

__all__ = ["Finding", "InjectionDetector", "PoisoningDetector", "Report", "SecretsDetector", "Severity"]
