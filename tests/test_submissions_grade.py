"""The example submissions in submissions/ graded end to end (confined), verdict by verdict.

These are the README's promises: alice gets every automatic point, the handout's own answers lose
exactly what their mistakes cost, and each realistic mistake costs its question only.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.data import load_data
from grader.pipeline import GradeConfig, grade_notebook
from grader.rubric import load_rubric

ROOT = Path(__file__).resolve().parents[1]
CONFINE = os.environ.get("GRADER_TEST_CONFINE", "1") == "1"


@pytest.fixture(scope="module")
def lab9_config(tmp_path_factory: pytest.TempPathFactory) -> GradeConfig:
    return GradeConfig(
        rubric=load_rubric(ROOT / "rubrics" / "lab9.yaml"),
        data=load_data(None, train_limit=400),
        cache_dir=tmp_path_factory.mktemp("cache"),
        confine=CONFINE,
    )


@pytest.fixture(scope="module")
def hw2_config(tmp_path_factory: pytest.TempPathFactory) -> GradeConfig:
    return GradeConfig(
        rubric=load_rubric(ROOT / "rubrics" / "hw2.yaml"),
        data=load_data(None),
        cache_dir=tmp_path_factory.mktemp("cache"),
        confine=CONFINE,
    )


def verdicts(result) -> dict[str, tuple[str, float]]:
    return {q.id: (q.status, q.points) for q in result.questions}


def messages(result, qid: str) -> str:
    q = next(q for q in result.questions if q.id == qid)
    errors = [f"{e.ename}: {e.evalue}" for e in (q.section.errors if q.section else [])]
    return " | ".join([c.message for c in q.checks] + errors)


def test_alice_correct_lab9_gets_every_automatic_point(lab9_config: GradeConfig) -> None:
    result = grade_notebook(ROOT / "submissions" / "alice.ipynb", lab9_config)
    assert verdicts(result) == {
        "1.1": ("pass", 10), "1.2": ("pass", 10), "1.3": ("pass", 20),
        "1.4": ("manual", 2), "2.1": ("pass", 15), "2.2": ("pass", 35),
    }
    assert result.score == 92 and result.pending_manual == 8
    assert "AssertionError" in messages(result, "2.1")  # the handout's 60000 check, free of cost


def test_handout_lab9_loses_1_4_for_model12_and_2_1_for_max_scaling(
    lab9_config: GradeConfig,
) -> None:
    result = grade_notebook(ROOT / "submissions" / "handout_lab9.ipynb", lab9_config)
    got = verdicts(result)
    assert got["1.1"] == got["1.2"] == ("pass", 10) and got["1.3"] == ("pass", 20)
    assert got["1.4"] == ("error", 0)
    assert "NameError" in messages(result, "1.4") and "model12" in messages(result, "1.4")
    assert got["2.1"] == ("partial", 8)
    assert "scales by 255" in " ".join(c.name for q in result.questions for c in q.checks
                                       if q.id == "2.1" and not c.passed)
    assert got["2.2"] == ("pass", 35)


def test_bob_three_filters_left_in_place_of_four_loses_the_4_filter_checks(
    lab9_config: GradeConfig,
) -> None:
    result = grade_notebook(ROOT / "submissions" / "bob.ipynb", lab9_config)
    assert verdicts(result)["1.3"] == ("partial", 6)
    assert "no trained 4-filter model" in messages(result, "1.3")
    assert verdicts(result)["2.2"] == ("pass", 35)


def test_carol_learning_rate_0_5_fails_1_3_only(lab9_config: GradeConfig) -> None:
    result = grade_notebook(ROOT / "submissions" / "carol.ipynb", lab9_config)
    got = verdicts(result)
    assert got["1.3"] == ("fail", 0)
    assert "loss 0.0062" in messages(result, "1.3")
    assert got["1.2"] == ("pass", 10) and got["2.2"] == ("pass", 35)


def test_dan_four_filters_in_1_2_and_custom_names_is_fully_correct(
    lab9_config: GradeConfig,
) -> None:
    result = grade_notebook(ROOT / "submissions" / "dan.ipynb", lab9_config)
    assert result.score == 92, verdicts(result)
    assert "allowed" in messages(result, "1.3") or "invites" in messages(result, "1.3")


def test_erin_correct_hw2_gets_every_automatic_point(hw2_config: GradeConfig) -> None:
    result = grade_notebook(ROOT / "submissions" / "hw2" / "erin.ipynb", hw2_config)
    auto_max = sum(c.points for q in hw2_config.rubric.questions for c in q.checks)
    assert result.score == auto_max, {q.id: messages(result, q.id) for q in result.questions
                                      if q.points < q.max_points - q.manual_points}
    assert {q.id for q in result.questions if q.status == "manual"} == {
        "1.2.4", "1.2.6", "1.3", "2.2.1", "3.2"}


def test_handout_hw2_loses_exactly_2_1_j_and_the_3_1_plot(hw2_config: GradeConfig) -> None:
    result = grade_notebook(ROOT / "submissions" / "hw2" / "handout_hw2.ipynb", hw2_config)
    lost = {q.id: round(q.max_points - q.manual_points - q.points, 6) for q in result.questions}
    assert {k: v for k, v in lost.items() if v} == {"2.1": 10, "2.2.2": 2, "3.1": 3}
    assert verdicts(result)["2.1"][0] == "error"
    assert "IndexError" in messages(result, "2.1")
    assert "J(W, b, y, x)" in messages(result, "2.2.2")
    assert "modifies its argument" in messages(result, "2.2.2")  # a note, not a deduction
    assert "misclassified" in " ".join(c.name for q in result.questions if q.id == "3.1"
                                       for c in q.checks if not c.passed)
