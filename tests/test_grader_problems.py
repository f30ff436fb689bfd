"""A problem on the instructor's side is never a student's lost points: it is a grader problem.

Scoring is exercised here without a kernel: a question's captured values are written by hand, as the
kernel would have sent them, and scored against a reference module of a few lines. The same grader
problem then goes through every output (JSON, gradebook, CSV, Gradescope, HTML). The whole run (exit
status 3, naming the question) is graded for real in tests/test_course_folder.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grader.capture import QuestionCapture
from grader.checks.base import OpResult, ScoreContext
from grader.data import DataBundle
from grader.expected import Reference
from grader.exports import grades_table, gradescope_results
from grader.pipeline import GradeConfig
from grader.pipeline import _result as grade_result
from grader.report import render_html
from grader.results import QuestionResult, SectionRecord
from grader.rubric import Rubric, parse_rubric
from grader.score import GRADER_PROBLEM, score_question, score_totals
from grader.store import Gradebook, Provenance

REFERENCE = '''
def expected_x():
    return [1.0, 2.0, 3.0]

def broken_x():
    return [1.0, 2.0, 3.0][7]

def doubled(x):
    if len(x) != 3:
        raise ValueError("expects three values")
    return 2 * x

def buggy(x):
    return x[[0, 1, 7]]
'''

RUBRIC = """\
assignment: t
title: T
reference: reference.py
questions:
  - id: "1"
    title: One
    heading: Exercise 1
    points: 2
    checks:
      - type: value_matches
        name: x
        points: 2
        artifact: x
        expected: [{{fn: {fn}{inputs}}}]
  - id: "2"
    title: Two
    heading: Exercise 2
    points: 3
    checks:
      - {{type: section_ran, name: runs, points: 3}}
"""


def rubric_in(tmp_path: Path, fn: str, inputs: str = "") -> Rubric:
    (tmp_path / "reference.py").write_text(REFERENCE, encoding="utf-8")
    return parse_rubric(RUBRIC.format(fn=fn, inputs=inputs), tmp_path / "rubric.yaml")


def captured_x(value: list[float], names: tuple[str, ...] = ("x",)) -> QuestionCapture:
    """What the kernel sends back for `x` (and the inputs named first)."""
    results = [OpResult(True, {"kind": "array", "value": np.asarray(value)}) for _ in names]
    inputs = [n for n in names[:-1]]
    return QuestionCapture(results={0: results}, planned={0: len(results)},
                           states={0: {"names": ["x"], "input_names": inputs, "assigned": []}})


def scored(rubric: Rubric, data: DataBundle, capture: QuestionCapture, qi: int = 0
           ) -> QuestionResult:
    question = rubric.questions[qi]
    reference = Reference(rubric.reference, data, None)
    section = SectionRecord(question.id, [1], executed=True)
    ctx = ScoreContext(question.id, reference, data, section, [], {}, {})
    return score_question(question, capture, ctx)


def test_reference_that_raises_on_the_rubrics_arguments_is_a_grader_problem(
        tmp_path: Path, small_data: DataBundle) -> None:
    result = scored(rubric_in(tmp_path, "broken_x"), small_data, captured_x([1.0, 2.0, 3.0]))
    assert result.status == "grader_error" and result.points == 0
    (check,) = result.checks
    assert check.grader_problem and check.message.startswith(GRADER_PROBLEM)
    assert "broken_x raised IndexError: list index out of range" in check.message


def test_the_same_question_with_a_working_reference_passes(
        tmp_path: Path, small_data: DataBundle) -> None:
    result = scored(rubric_in(tmp_path, "expected_x"), small_data, captured_x([1.0, 2.0, 3.0]))
    assert result.status == "pass" and result.points == 2
    assert not result.checks[0].grader_problem


def test_reference_that_rejects_the_students_values_with_valueerror_fails_the_student(
        tmp_path: Path, small_data: DataBundle) -> None:
    rubric = rubric_in(tmp_path, "doubled", ", inputs: [x]")
    result = scored(rubric, small_data, captured_x([1.0, 2.0], names=("x", "x")))
    assert result.status == "fail" and not result.checks[0].grader_problem
    assert "expects three values" in result.checks[0].message


def test_reference_that_breaks_on_the_students_values_otherwise_is_a_grader_problem(
        tmp_path: Path, small_data: DataBundle) -> None:
    rubric = rubric_in(tmp_path, "buggy", ", inputs: [x]")
    result = scored(rubric, small_data, captured_x([1.0, 2.0, 3.0], names=("x", "x")))
    assert result.status == "grader_error" and result.checks[0].grader_problem
    assert "buggy raised IndexError" in result.checks[0].message


def test_check_the_grader_could_not_prepare_is_a_grader_problem(
        tmp_path: Path, small_data: DataBundle) -> None:
    capture = QuestionCapture(plan_errors={0: "the grader could not prepare this check: "
                                              "KeyError: 'X'"})
    result = scored(rubric_in(tmp_path, "expected_x"), small_data, capture)
    assert result.status == "grader_error"
    assert result.checks[0].message == GRADER_PROBLEM + ("the grader could not prepare this "
                                                         "check: KeyError: 'X'")


@pytest.fixture
def with_problem(tmp_path: Path, small_data: DataBundle):
    """A result whose question 1 is a grader problem and question 2 passed (3 of 3 points)."""
    rubric = rubric_in(tmp_path, "broken_x")
    questions = [scored(rubric, small_data, captured_x([1.0, 2.0, 3.0])),
                 scored(rubric, small_data, QuestionCapture(), qi=1)]
    config = GradeConfig(rubric=rubric, data=small_data)
    return grade_result(config, Path("alice.ipynb"), "alice", "sha", questions, [], 0.0)


def test_grader_problem_is_left_out_of_the_score_and_the_maximum(with_problem) -> None:
    assert [q.status for q in with_problem.questions] == ["grader_error", "pass"]
    assert (with_problem.score, with_problem.max_score) == (3.0, 3.0)
    assert score_totals(with_problem.questions) == (3.0, 3.0)
    record = with_problem.to_json_dict()
    assert record["grader_problems"][0]["question"] == "1"
    assert "broken_x raised IndexError" in record["grader_problems"][0]["message"]


def test_grader_problem_shows_in_the_gradebook_csv_gradescope_and_html(
        with_problem, tmp_path: Path) -> None:
    with Gradebook(tmp_path / "out") as gradebook:
        row = gradebook.record_result(with_problem, "sha", Provenance("r", "s", "v"))
        _, rows = grades_table(gradebook, ["1", "2"])
        gradescope = gradescope_results(row, gradebook.questions("alice"),
                                        gradebook.ledger("alice"))
    assert row.reason == "not counted (the grader's problem, not the notebook's): question 1"
    assert (rows[0]["1"], rows[0]["2"], rows[0]["total"], rows[0]["max"]) == ("", "3", "3", "3")
    first = gradescope["tests"][0]
    assert (first["score"], first["max_score"]) == (0.0, 0.0)
    assert first["output"].startswith("Not counted: the grader could not check this question")
    html = render_html(with_problem)
    assert "grader problem: not counted" in html and "Not counted:" in html
    assert json.loads(json.dumps(with_problem.to_json_dict()))["max_score"] == 3.0
