"""The example submissions in submissions/ graded end to end (confined), verdict by verdict.

These are the README's promises: alice gets every automatic point, the handout's own answers lose
exactly what their mistakes cost, and each realistic mistake costs its question only; and every
example raises exactly in the cells it is meant to (read from its graded result). Each
example is graded once per session (`graded_example` in conftest.py), on the data the golden
verdicts in tests/golden/example_verdicts.json were recorded on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import EXAMPLE_DATA, RUBRICS, check_outcome, question, verdicts

from grader.results import GradeResult
from grader.rubric import load_rubric
from submissions import examples

GOLDEN = Path(__file__).resolve().parent / "golden" / "example_verdicts.json"

pytestmark = pytest.mark.kernel

# Check names in rubrics/lab9.yaml
PLOTS, RAN = "weight plots drawn", "plotting code runs"
LOADS, BY_255 = "loads a standard file", "scales by 255, not by the file's maximum"
ACCURACY = "accuracy on held-out digits"


def statuses(result: GradeResult) -> dict[str, tuple[str, float]]:
    return {q.id: (q.status, q.points) for q in result.questions}


def messages(result: GradeResult, qid: str) -> str:
    q = question(result, qid)
    errors = [f"{e.ename}: {e.evalue}" for e in (q.section.errors if q.section else [])]
    return " | ".join([c.message for c in q.checks] + errors)


def golden_record(result: GradeResult) -> dict:
    """The result as the golden file holds it: per question its status, points and checks."""
    return {q.id: {"status": q.status, "points": round(q.points, 4),
                   "checks": [[c.name, c.passed, round(c.points, 4)] for c in q.checks]}
            for q in result.questions}


@pytest.fixture(scope="module")
def alice(graded_example) -> GradeResult:
    return graded_example("alice")


@pytest.fixture(scope="module")
def handout_lab9(graded_example) -> GradeResult:
    return graded_example("handout_lab9")


# ============================================================================================
# Every example against the verdicts recorded before the examples moved to submissions/src/
# ============================================================================================


@pytest.mark.parametrize("name", sorted(json.loads(GOLDEN.read_text())))
def test_example_verdicts_match_the_golden_file(name: str, graded_example) -> None:
    result = graded_example(name)
    assert golden_record(result) == json.loads(GOLDEN.read_text())[name], verdicts(result)


# ============================================================================================
# Lab 9: alice (correct) and the handout's own answers
# ============================================================================================


def test_alice_correct_lab9_gets_every_automatic_point(alice: GradeResult) -> None:
    assert statuses(alice) == {
        "1.1": ("pass", 10), "1.2": ("pass", 10), "1.3": ("pass", 20),
        "1.4": ("manual", 2), "2.1": ("pass", 15), "2.2": ("pass", 35),
    }, verdicts(alice)
    assert alice.score == 92 and alice.pending_manual == 8
    assert all(c.passed for q in ("1.1", "1.2", "1.3", "1.4")
               for c in question(alice, q).checks), verdicts(alice)


def test_correct_weight_plots_leave_1_4_to_the_marker_with_2_automatic_points(
        alice: GradeResult) -> None:
    q = question(alice, "1.4")
    assert (q.status, q.points, q.manual_points) == ("manual", 2, 8), verdicts(alice)
    assert "2 figure(s)" in check_outcome(alice, "1.4", PLOTS).message
    assert alice.pending_manual == 8


def test_correct_trained_convnet_passes_2_2_with_the_calibrated_threshold(
        alice: GradeResult) -> None:
    q = question(alice, "2.2")
    assert (q.status, q.points) == ("pass", 35), verdicts(alice)
    message = check_outcome(alice, "2.2", ACCURACY).message
    assert "'model'" in message and "calibrated on this data" in message


def test_correct_loader_passes_2_1_although_the_60000_assert_fails(alice: GradeResult) -> None:
    q = question(alice, "2.1")
    assert [e.ename for e in q.section.errors] == ["AssertionError"]  # the handout's size check
    assert (q.status, q.points) == ("pass", 15), verdicts(alice)
    assert alice.score == 100 - 8


def test_result_json_has_the_documented_contract(alice: GradeResult, lab9_rubric) -> None:
    data = json.loads(json.dumps(alice.to_json_dict()))
    assert data["assignment"] == "lab9" and data["student"] == "alice"
    assert data["max_score"] == 100 and data["score"] == pytest.approx(alice.score)
    assert [q["id"] for q in data["questions"]] == ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2"]
    for q in data["questions"]:
        assert {"id", "status", "points", "max_points", "checks"} <= set(q)
        assert q["status"] in {"pass", "partial", "fail", "error", "manual"}
        for c in q["checks"]:
            assert {"name", "passed", "message"} <= set(c) and c["message"]
            assert isinstance(c["passed"], bool)
    env = data["environment"]
    assert env["rubric_sha256"] == lab9_rubric.sha256 and len(env["rubric_sha256"]) == 64
    assert env["packages"]["torch"] and env["packages"]["numpy"]
    assert data["data"]["sizes"]["train"] == EXAMPLE_DATA["lab9"]["train_limit"]


def test_handout_lab9_loses_1_4_for_model12_and_2_1_for_max_scaling(
        handout_lab9: GradeResult) -> None:
    got = statuses(handout_lab9)
    assert got["1.1"] == got["1.2"] == ("pass", 10) and got["1.3"] == ("pass", 20)
    assert got["1.4"] == ("error", 0)
    assert got["2.1"] == ("partial", 8)
    assert got["2.2"] == ("pass", 35)


def test_handout_model12_name_error_is_an_error_in_1_4(handout_lab9: GradeResult) -> None:
    q = question(handout_lab9, "1.4")
    assert (q.status, q.points) == ("error", 0), verdicts(handout_lab9)
    ran = check_outcome(handout_lab9, "1.4", RAN).message
    assert "NameError" in ran and "model12" in ran
    assert not check_outcome(handout_lab9, "1.4", PLOTS).passed


def test_handout_scaling_by_the_files_max_is_partial_2_1(handout_lab9: GradeResult) -> None:
    q = question(handout_lab9, "2.1")
    assert (q.status, q.points) == ("partial", 8), verdicts(handout_lab9)
    assert check_outcome(handout_lab9, "2.1", LOADS).passed
    assert not check_outcome(handout_lab9, "2.1", BY_255).passed


# ============================================================================================
# Lab 9: bob, carol, dan
# ============================================================================================


def test_bob_three_filters_left_in_place_of_four_loses_the_4_filter_checks(
        graded_example) -> None:
    result = graded_example("bob")
    assert statuses(result)["1.3"] == ("partial", 6)
    assert "no trained 4-filter model" in messages(result, "1.3")
    assert statuses(result)["2.2"] == ("pass", 35)


def test_carol_learning_rate_0_5_fails_1_3_only(graded_example) -> None:
    result = graded_example("carol")
    got = statuses(result)
    assert got["1.3"] == ("fail", 0)
    assert "loss 0.0062" in messages(result, "1.3")
    assert got["1.2"] == ("pass", 10) and got["2.2"] == ("pass", 35)


def test_dan_four_filters_in_1_2_and_custom_names_is_fully_correct(graded_example) -> None:
    result = graded_example("dan")
    assert result.score == 92, statuses(result)
    assert "allowed" in messages(result, "1.3") or "invites" in messages(result, "1.3")


# ============================================================================================
# hw2: erin (correct) and the handout's own answers
# ============================================================================================


def test_erin_correct_hw2_gets_every_automatic_point(graded_example) -> None:
    result = graded_example("erin")
    rubric = load_rubric(RUBRICS / "hw2.yaml")
    auto_max = sum(c.points for q in rubric.questions for c in q.checks)
    assert result.score == auto_max, {q.id: messages(result, q.id) for q in result.questions
                                      if q.points < q.max_points - q.manual_points}
    assert {q.id for q in result.questions if q.status == "manual"} == {
        "1.2.4", "1.2.6", "1.3", "2.2.1", "3.2"}


def test_handout_hw2_loses_exactly_2_1_j_and_the_3_1_plot(graded_example) -> None:
    result = graded_example("handout_hw2")
    lost = {q.id: round(q.max_points - q.manual_points - q.points, 6) for q in result.questions}
    assert {k: v for k, v in lost.items() if v} == {"2.1": 10, "2.2.2": 2, "3.1": 3}
    assert statuses(result)["2.1"][0] == "error"
    assert "IndexError" in messages(result, "2.1")
    assert "J(W, b, y, x)" in messages(result, "2.2.2")
    assert "modifies its argument" in messages(result, "2.2.2")  # a note, not a deduction
    assert "misclassified" in " ".join(c.name for q in result.questions if q.id == "3.1"
                                       for c in q.checks if not c.passed)


# ============================================================================================
# Each example raises exactly in the cells it is meant to, on the grading data
# ============================================================================================

# notebook -> the cells expected to raise: (a snippet of the cell's source, the exception name).
# The only raising cell in a correct Lab 9 is the handout's own 2.1 check, which hard-codes the
# full MNIST sizes (60000/10000) and so fails on the grader's smaller data.
LAB9_SIZE_CHECK = ("assert X_trn.shape == (60000, 1, 28, 28)", "AssertionError")
EXPECTED_ERRORS: dict[str, list[tuple[str, str]]] = {
    "alice.ipynb": [LAB9_SIZE_CHECK],
    "bob.ipynb": [LAB9_SIZE_CHECK],
    "carol.ipynb": [LAB9_SIZE_CHECK],
    "dan.ipynb": [LAB9_SIZE_CHECK],
    "handout_lab9.ipynb": [
        ("W1, b1, W2, b2 = model12.parameters()", "NameError"),
        LAB9_SIZE_CHECK,
    ],
    "hw2/erin.ipynb": [],
    "hw2/handout_hw2.ipynb": [("knn = KNNClassifier(3).fit(train_X, train_y)", "IndexError")],
}


@dataclass(frozen=True)
class RaisedCell:
    index: int
    source: str
    ename: str
    evalue: str


def raised_cells(result: GradeResult) -> list[RaisedCell]:
    """The cells that raised, in notebook order, from the grade's sections."""
    found = {e.cell_index: RaisedCell(e.cell_index, e.source, e.ename, e.evalue)
             for q in result.questions if q.section for e in q.section.errors}
    return [found[i] for i in sorted(found)]


STUDENT = {e.path.relative_to(examples.HERE).as_posix(): e.student
           for e in examples.example_notebooks()}


@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_notebook_raises_only_where_intended(name, graded_example):
    result = graded_example(STUDENT[name])
    assert not [n for n in result.notes if "(before the first question) raised" in n], result.notes
    assert not result.fatal, result.fatal
    raised = raised_cells(result)
    expected = EXPECTED_ERRORS[name]
    described = [f"cell {c.index}: {c.ename}: {c.evalue}" for c in raised]
    assert len(raised) == len(expected), f"{name} raised in {described}, expected {expected}"
    for cell, (snippet, ename) in zip(raised, expected):
        assert snippet in cell.source, f"{name}: unexpected raising cell {cell.index}: {described}"
        assert cell.ename == ename, f"{name}: cell {cell.index} raised {cell.ename}: {cell.evalue}"
