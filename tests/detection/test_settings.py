"""The `detectors:` section: the learned tier's switch and thresholds, validated at start-up."""

import pytest

from ostiary.config import ConfigError
from ostiary.detection import learned, settings


def test_defaults_use_the_shipped_model_at_the_1_percent_operating_point() -> None:
    chosen = settings.parse({})
    assert chosen.model == "auto"
    assert chosen.injection.of("any").model_threshold == "fpr1"
    model = settings.model_for("injection", chosen.model)
    assert model is not None
    assert settings.model_threshold(model, "fpr1", "x") == model.thresholds["fpr1"]


@pytest.mark.parametrize(
    "raw",
    [
        {"modle": "on"},
        {"model": "sometimes"},
        {"injection": {"treshold": 0.4}},
        {"injection": {"servers": {"web": {"model_threshold": "fpr1", "extra": 1}}}},
        {"poisoning": {"threshold": 0}},
        {"poisoning": {"model_threshold": "high"}},
        {"injection": ["threshold"]},
    ],
)
def test_unknown_keys_and_bad_values_are_configuration_errors(raw: object) -> None:
    with pytest.raises(ConfigError):
        settings.parse(raw)


def test_off_means_no_model_and_yaml_false_reads_as_off() -> None:
    assert settings.model_for("injection", settings.parse({"model": "off"}).model) is None
    assert settings.parse({"model": False}).model == "off"


def test_per_server_thresholds_inherit_what_they_do_not_set() -> None:
    chosen = settings.parse(
        {
            "injection": {
                "threshold": 0.6,
                "model_threshold": 0.9,
                "servers": {"web": {"model_threshold": "fpr2"}},
            }
        }
    )
    assert chosen.injection.of("web") == settings.Thresholds(0.6, "fpr2")
    assert chosen.injection.of("other") == settings.Thresholds(0.6, 0.9)


def test_an_unknown_operating_point_is_refused_at_start_up() -> None:
    model = settings.model_for("poisoning", "on")
    with pytest.raises(ConfigError, match="fpr7"):
        settings.model_threshold(model, "fpr7", "detectors.poisoning")


def test_on_refuses_to_start_without_a_readable_model(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "injection.npz"
    bad.write_bytes(b"not a model")
    monkeypatch.setattr(learned, "shipped", lambda kind: bad)
    with pytest.raises(ConfigError, match="not a readable model"):
        settings.model_for("injection", "on")
    monkeypatch.setattr(learned, "shipped", lambda kind: tmp_path / "missing.npz")
    with pytest.raises(ConfigError, match="existing local file"):
        settings.model_for("injection", "on")
    assert settings.model_for("injection", "auto") is None
