import pytest

from ostiary.detection.secrets import SecretsDetector, SecretsOptions


@pytest.fixture(scope="module")
def own_rules() -> SecretsDetector:
    """Ostiary's own rules alone, so no rule pack's finding stands in for theirs."""
    return SecretsDetector(SecretsOptions(packs=()))
