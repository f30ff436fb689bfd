"""The three kinds of wrong verdict of issue 10, end to end (a kernel per notebook, each graded
once): correct work in another form must not lose points, a real bug only the assignment's own
data show must. Each failed on the grader before the fix:

- Lab 9 2.2 written with padding='same' lost the layers points ("should have padding=2");
- hw2's SGD monitoring its loss on 500 sampled rows raised on the grader's 90-row problem;
- a KNN squaring uint8 differences (wrap-around) got 10/10 on float probes.

Answers come from the fidelity corpus (submissions/src/fidelity/). Data: the offline digits
profile cut to 700 training images (the SGD problem needs 600 rows).
"""

from __future__ import annotations

import pytest
from answers import H22
from conftest import RUBRICS, check_outcome, question, rubric_with, verdicts, write_notebook

from grader.data import load_data
from grader.results import GradeResult
from grader.rubric import load_rubric
from submissions import examples, fidelity

pytestmark = pytest.mark.kernel

LAYERS, BEHAVIOUR = "layers as specified", "computes the specified architecture"
SGD = "SGD trains 600 training images"
KNN_ACCURACY = "accuracy on held-out digits, fitted on the training images as loaded"
LAB9_PRELUDE = [("code", "import numpy as np\nimport torch\nimport torch.nn as nn"),
                ("code", examples.answers("lab9", "alice")["ex21"])]


def hw2_given(*names: str) -> list[tuple[str, str]]:
    return [("md" if n.startswith("q") else "code", examples.given("hw2", n)) for n in names]


NOTEBOOKS = {
    "padding_same": ("lab9", ["2.2"], LAB9_PRELUDE + [
        H22, ("code", fidelity.answers("lab9", "ok_padding_same")["ex22_model"])]),
    "pool_before_relu": ("lab9", ["2.2"], LAB9_PRELUDE + [
        H22, ("code", fidelity.answers("lab9", "ok_pool_before_relu")["ex22_model"])]),
    "sgd_monitor_500": ("hw2", ["2.2.2"], [
        *hw2_given("imports", "q2", "load_section2", "flatten", "q22", "q222", "load_normalized"),
        *[("code", fidelity.answers("hw2", "ok_minibatch_sgd")[slot])
          for slot in ("q222_functions", "q222_tqdm", "q222_sgd", "q222_run")]]),
    "knn_uint8_wrap": ("hw2", ["2.1"], [
        *hw2_given("imports", "q2", "load_section2", "flatten", "q21", "knn_imports"),
        ("code", fidelity.answers("hw2", "m21_uint8_wrap")["q21"])]),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, grade):
    data = load_data(None, train_limit=700)
    rubrics = {a: load_rubric(RUBRICS / f"{a}.yaml") for a in ("lab9", "hw2")}
    results: dict[str, GradeResult] = {}

    def result(name: str) -> GradeResult:
        if name not in results:
            assignment, ids, cells = NOTEBOOKS[name]
            path = write_notebook(tmp_path_factory.mktemp(name), cells, name)
            results[name] = grade(path, rubric_with(rubrics[assignment], ids), data)
        return results[name]

    return result


def test_convnet_with_padding_same_earns_the_layers_points_2_2(graded) -> None:
    r = graded("padding_same")
    layers = check_outcome(r, "2.2", LAYERS)
    assert (layers.passed, layers.points, layers.note) == (True, 5, False), verdicts(r)
    assert "padding=2" in layers.message  # the meaning, whatever the spelling
    assert check_outcome(r, "2.2", BEHAVIOUR).passed


def test_convnet_pooling_before_relu_keeps_the_layers_points_with_a_note_2_2(graded) -> None:
    r = graded("pool_before_relu")
    layers = check_outcome(r, "2.2", LAYERS)
    assert (layers.passed, layers.points, layers.note) == (True, 5, True), verdicts(r)
    assert "written differently" in layers.message and "no points lost" in layers.message
    assert check_outcome(r, "2.2", BEHAVIOUR).passed


def test_sgd_monitoring_500_sampled_rows_gets_full_marks_2_2_2(graded) -> None:
    r = graded("sgd_monitor_500")
    assert check_outcome(r, "2.2.2", SGD).passed, verdicts(r)
    q = question(r, "2.2.2")
    assert (q.status, q.points, q.max_points) == ("pass", 10, 10), verdicts(r)


def test_knn_squaring_uint8_differences_fails_on_the_images_as_loaded_2_1(graded) -> None:
    r = graded("knn_uint8_wrap")
    accuracy = check_outcome(r, "2.1", KNN_ACCURACY)
    assert (accuracy.passed, accuracy.points) == (False, 0), verdicts(r)
    assert "held-out images (digits), needs >=" in accuracy.message
    assert question(r, "2.1").points < 10
