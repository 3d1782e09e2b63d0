"""The optional ONNX classifier, with a tiny real model built here: it scores a window 1.0 when
the window contains the byte '!' and 0.0 otherwise, which is enough to check loading,
windowing, offsets and how its findings join the rules'."""

from pathlib import Path
from typing import Any

import pytest

from ostiary.config import Config, ConfigError
from ostiary.detection.injection import InjectionDetector
from ostiary.detection.ml import RULE, ClassifierError, ClassifierOptions, OnnxClassifier
from ostiary.inspections import injection
from ostiary.testing import judge, tool_result

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def bang_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    helper, proto = onnx.helper, onnx.TensorProto
    nodes = [
        helper.make_node("Equal", ["input_bytes", "bang"], ["is_bang"]),
        helper.make_node("Cast", ["is_bang"], ["as_float"], to=proto.FLOAT),
        helper.make_node("ReduceMax", ["as_float"], ["probability"], axes=[1], keepdims=1),
    ]
    graph = helper.make_graph(
        nodes,
        "bang",
        [helper.make_tensor_value_info("input_bytes", proto.INT64, ["batch", "window"])],
        [helper.make_tensor_value_info("probability", proto.FLOAT, ["batch", 1])],
        [helper.make_tensor("bang", proto.INT64, [], [ord("!")])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path_factory.mktemp("model") / "bang.onnx"
    onnx.save(model, str(path))
    return path


def classifier(path: Path, **options: Any) -> OnnxClassifier:
    return OnnxClassifier(ClassifierOptions(model=path, window=64, stride=48, **options))


def test_a_window_the_model_scores_high_becomes_a_finding_at_its_span(bang_model: Path) -> None:
    text = "é" * 100 + "quiet text " * 20 + "now!" + " tail" * 30
    [finding] = classifier(bang_model).findings(text, "/text")
    assert finding.rule == RULE
    assert finding.weight == 1.0
    assert finding.start <= text.index("!") < finding.end


def test_text_the_model_scores_low_has_no_finding(bang_model: Path) -> None:
    assert classifier(bang_model).findings("nothing to see here " * 50) == []


def test_long_text_is_read_in_a_bounded_number_of_windows_that_cover_its_end(bang_model: Path) -> None:
    model = classifier(bang_model, max_windows=8)
    starts = model.windows(b"x" * 100_000)
    assert len(starts) == 8
    assert starts[-1] == 100_000 - 64
    assert model.findings("x" * 100_000 + "!")


def test_its_findings_add_to_the_rules_score(bang_model: Path) -> None:
    detector = InjectionDetector(classifier=classifier(bang_model).findings)
    assert detector.scan("Buy now!").flagged
    assert detector.scan("Buy now!").rules == [RULE]
    assert not detector.scan("Buy now.").flagged


def test_only_an_existing_local_file_is_accepted(tmp_path: Path) -> None:
    with pytest.raises(ClassifierError):
        OnnxClassifier(ClassifierOptions(model=Path("https://models.invalid/injection.onnx")))
    with pytest.raises(ClassifierError):
        OnnxClassifier(ClassifierOptions(model=tmp_path / "missing.onnx"))


async def test_the_inspection_loads_the_configured_model(bang_model: Path) -> None:
    guard = injection.build({"classifier": {"model": str(bang_model), "window": 64, "stride": 32}}, Config())
    assert (await judge(guard, tool_result("srv", "t", "Act now!"))).code == injection.BLOCKED
    assert (await judge(guard, tool_result("srv", "t", "Act later."))).is_allow
    with pytest.raises(ConfigError):
        injection.build({"classifier": {"model": "/nonexistent.onnx"}}, Config())
