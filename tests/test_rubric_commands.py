"""`grade init` drafts a rubric from a solution; `grade validate` says whether a rubric is ready.

In-process through click's runner, and with no kernel: the draft is checked by the schema, and the
rubrics validated here have no solution to grade (tests/test_course_folder.py grades one).
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from courses import RIDGE, copy_ridge

from grader.cli import main
from grader.rubric import parse_rubric


def grade(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_init_drafts_one_question_per_exercise_and_one_check_per_name(tmp_path: Path) -> None:
    out = tmp_path / "draft.yaml"
    code, _ = grade("init", RIDGE / "solution.ipynb", "--out", out)
    assert code == 0
    draft = parse_rubric(out.read_text(), out)  # the schema accepts it as it is
    assert draft.assignment == "ridge" and draft.title == "Ridge regression"
    assert [(q.id, q.heading, q.title) for q in draft.questions] == [
        ("1", "Exercise 1", "Load and standardise the data"),
        ("2", "Exercise 2", "Closed-form ridge regression"),
        ("3", "Exercise 3", "Choose the regularisation strength")]
    checks = {(c.type, c.name) for c in draft.questions[1].checks}
    assert checks == {("function_matches", "ridge_fit matches the reference"),
                      ("value_matches", "y_mean"), ("value_matches", "w")}
    ridge_fit = draft.questions[1].checks[0].params
    assert (ridge_fit["inputs"], ridge_fit["args"]) == ("ridge_fit_inputs", ["X", "y", "lam"])
    assert "np" not in {c.name for q in draft.questions for c in q.checks}  # imports are not asked


def test_init_refuses_to_overwrite_a_rubric(tmp_path: Path) -> None:
    out = tmp_path / "rubric.yaml"
    out.write_text("mine")
    code, output = grade("init", RIDGE / "solution.ipynb", "--out", out)
    assert code == 2 and "exists; pass --force" in output and out.read_text() == "mine"


def test_validate_of_a_fresh_draft_lists_the_reference_functions_to_write(tmp_path: Path) -> None:
    rubric = copy_ridge(tmp_path / "ridge")
    rubric.unlink()
    grade("init", rubric.parent / "solution.ipynb", "--out", rubric)
    code, output = grade("validate", rubric)
    line = rubric.read_text().splitlines().index("        expected: [{fn: table}]") + 1
    assert code == 1
    assert f"{rubric}:{line}:21: question 1, check 1 'table' (value_matches): expected[0].fn: " \
           f"reference function 'table' is not in {rubric.parent / 'reference.py'}" in output
    assert "reference function 'ridge_fit_inputs' is not in" in output
    assert output.rstrip().endswith("problem(s)")


def test_validate_with_no_rubric_checks_every_shipped_rubric() -> None:
    code, output = grade("validate")
    assert code == 0
    assert "rubrics/hw2.yaml\n  ok  rubric and reference: 13 questions, 100 points" in output
    assert "rubrics/lab9.yaml\n  ok  rubric and reference: 6 questions, 100 points" in output
    assert "no solution notebook" in output


def test_validate_of_a_missing_rubric_is_unusable_input(tmp_path: Path) -> None:
    code, output = grade("validate", tmp_path / "nope.yaml")
    assert code == 2 and "nope.yaml: no such file or folder" in output
