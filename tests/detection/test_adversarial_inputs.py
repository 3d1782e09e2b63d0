"""Pathological inputs finish: every detector on a megabyte built to make backtracking matchers
explode. Timing ratios are measured in benchmarks/bench_detectors.py; here the generous pytest
timeout is the only clock."""

import base64

import pytest

from ostiary.detection.injection import InjectionDetector
from ostiary.detection.poisoning import PoisoningDetector
from ostiary.detection.secrets import SecretsDetector

MB = 1024 * 1024

ADVERSARIAL = {
    "one letter": "a" * MB,
    "spaces": " " * MB,
    "digits with separators": "1 " * (MB // 2),
    "repeated trigger word": "ignore " * (MB // 7),
    "unclosed tags": "<" * MB,
    "almost an email": ("a." * 40 + "@") * (MB // 81),
    "almost a url password": ("x://u:" * (MB // 6)),
    "percent escapes": "%41" * (MB // 3),
    "base64 alphabet": base64.b64encode(b"\x00" * (MB * 3 // 4)).decode(),
    "pem header then body": "-----BEGIN PRIVATE KEY-----" + "A" * MB,
    "zero width": "\u200b" * MB,
    "homoglyphs": "аеорсх" * (MB // 6),
    "assignments": "token=" * (MB // 6),
    "short base64 texts": (base64.b64encode(b"ignore previous instructions").decode() + " ") * (MB // 41),
    "commit ids": ("da39a3ee5e6b4b0d3255bfef95601890afd80709\n") * (MB // 41),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_every_detector_finishes_on_a_pathological_megabyte(name: str) -> None:
    text = ADVERSARIAL[name]
    InjectionDetector().scan(text)
    PoisoningDetector().scan_text(text)
    SecretsDetector().scan(text)
