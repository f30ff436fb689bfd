"""A third assignment, ridge regression, graded from a course folder outside rubrics/ and reference/.

tests/fixtures/ridge is copied to `<tmp>/course/ridge` and graded with `grade` run from another
folder (`--rubric ../course/ridge/rubric.yaml`), as a course keeping its assignments in its own
repository would. No file under grader/ knows about it. Each `grade` run happens once per module and
many tests read its outputs:

  ana  the instructor's solution                         -> 20/20
  ben  population std taken with ddof=1 (exercise 1)     -> 16/20 (sigma and Z_train: -1, -3)
  cy   w fitted with lambda = 10, not 1 (exercise 2)     -> 18/20 (w: -2)

and, in a copy whose reference function `ridge_weights` raises: the solution is graded with
question 2 left out as a grader problem (exit status 3, naming it); fixing the reference and
re-scoring restores full marks without running the notebook again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, confine_from_env
from courses import REFERENCE_TEXT, SAMPLE_STD, WRONG_LAMBDA, copy_ridge, edited, ridge_notebook

pytestmark = pytest.mark.kernel

RUN_TIMEOUT = 180


@dataclass
class Run:
    args: list[str]
    process: subprocess.CompletedProcess

    @property
    def output(self) -> str:
        return self.process.stdout + self.process.stderr


def grade(cwd: Path, *args: str | Path) -> Run:
    """`grade ARGS` in `cwd`, in a process of its own (confined only if GRADER_TEST_CONFINE=1)."""
    flags = [] if confine_from_env() else ["--unsafe-no-sandbox"]
    command = [str(a) for a in args]
    if command[0] != "validate":
        flags += ["--cache", str(cwd / "refcache")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    process = subprocess.run([sys.executable, "-m", "grader.cli", *command, *flags],
                             cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                             check=False, env=env)
    return Run(command, process)


@dataclass
class Course:
    root: Path
    elsewhere: Path  # the folder `grade` runs in: neither the course's nor the grader's
    class_run: Run
    out: Path

    def result(self, student: str) -> dict:
        return json.loads((self.out / f"{student}.json").read_text())


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    root = tmp_path_factory.mktemp("ridge-course")
    copy_ridge(root / "course" / "ridge")
    students = root / "class"
    students.mkdir()
    for name, edits in (("ana", ()), ("ben", (SAMPLE_STD,)), ("cy", (WRONG_LAMBDA,))):
        nbformat.write(ridge_notebook(*edits), students / f"{name}.ipynb")
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    run = grade(elsewhere, "../class", "--rubric", "../course/ridge/rubric.yaml", "--out",
                "grades", "--workers", "2")
    return Course(root, elsewhere, run, elsewhere / "grades")


def points(result: dict) -> dict[str, float]:
    return {q["id"]: q["points"] for q in result["questions"]}


def test_class_is_graded_from_a_course_folder_outside_the_grader(course: Course) -> None:
    assert course.class_run.process.returncode == 0, course.class_run.output
    assert "3 submissions: 3 graded, 0 failed to grade" in course.class_run.output


def test_the_instructors_solution_earns_every_point(course: Course) -> None:
    ana = course.result("ana")
    assert (ana["score"], ana["max_score"]) == (20.0, 20.0), json.dumps(ana["questions"], indent=1)
    assert ana["grader_problems"] == []


def test_std_with_ddof_1_loses_the_sigma_and_z_train_points_only(course: Course) -> None:
    ben = course.result("ben")
    assert points(ben) == {"1": 1.0, "2": 8.0, "3": 7.0}
    failed = [c["name"] for q in ben["questions"] for c in q["checks"] if not c["passed"]]
    assert failed == ["population standard deviations", "standardised training matrix"]


def test_w_fitted_with_the_wrong_lambda_loses_the_w_points_only(course: Course) -> None:
    cy = course.result("cy")
    assert points(cy) == {"1": 5.0, "2": 6.0, "3": 7.0}
    (w,) = [c for c in cy["questions"][1]["checks"] if not c["passed"]]
    assert w["name"] == "w with lambda = 1 on the centred targets"
    assert w["message"].startswith("'w' does not match the reference")


def test_hidden_rows_are_scored_by_the_reference_and_never_reach_the_notebook(
        course: Course) -> None:
    (metric,) = [c for c in course.result("ana")["questions"][1]["checks"]
                 if c["name"] == "ridge_fit generalises to the hidden rows"]
    assert metric["passed"] and "R^2 on 40 hidden rows 0.9" in metric["message"]
    assert course.result("ana")["data"]["course"] == {"files": ["data"], "hidden": 1,
                                                      "written": []}


BROKEN = ("    return ridge_fit(Z_train, y_train - y_train.mean(), LAMBDA)",
          "    return ridge_fit(Z_train, y_train - y_train.mean(), LAMBDA)[99]")


@dataclass
class Broken:
    first: Run  # graded with the broken reference
    first_result: dict  # its solution.json
    validated: Run  # `grade validate` with the broken reference
    again: Run  # re-scored with the reference fixed
    again_result: dict


@pytest.fixture(scope="module")
def broken(course: Course) -> Broken:
    """A copy of the course whose ridge_weights raises: the solution graded, then the reference
    fixed and the class re-scored from the cached execution."""
    rubric = copy_ridge(course.root / "broken" / "ridge")
    reference = rubric.parent / "reference.py"
    reference.write_text(edited(REFERENCE_TEXT, *BROKEN))
    solution = rubric.parent / "solution.ipynb"
    out = course.elsewhere / "broken-grades"
    first = grade(course.elsewhere, solution, "--rubric", rubric, "--out", out)
    first_result = json.loads((out / "solution.json").read_text())
    validated = grade(course.elsewhere, "validate", rubric)
    reference.write_text(REFERENCE_TEXT)
    again = grade(course.elsewhere, solution, "--rubric", rubric, "--out", out, "--rescore")
    return Broken(first, first_result, validated, again,
                  json.loads((out / "solution.json").read_text()))


def test_reference_that_raises_is_a_grader_problem_named_with_exit_status_3(broken: Broken
                                                                           ) -> None:
    first, result = broken.first, broken.first_result
    assert first.process.returncode == 3, first.output
    assert "Grader problems (not the students'" in first.output
    assert "question 2 (solution): " in first.output and "ridge_weights raised IndexError" in \
        first.output
    assert (result["score"], result["max_score"]) == (12.0, 12.0)
    assert [q["status"] for q in result["questions"]] == ["pass", "grader_error", "pass"]
    assert "ridge_weights raised IndexError" in result["grader_problems"][0]["message"]


def test_validate_refuses_a_reference_that_raises_on_the_solution(broken: Broken) -> None:
    run = broken.validated
    assert run.process.returncode == 1, run.output
    assert (":55:9: a grader problem on the solution: question 2, check 'w with lambda = 1 on "
            "the centred targets': ") in run.output
    assert "reference.py: ridge_weights raised IndexError: index 99 is out of bounds" in run.output


def test_fixed_reference_and_a_rescore_give_back_full_marks_without_running_again(
        broken: Broken) -> None:
    again, result = broken.again, broken.again_result
    assert again.process.returncode == 0, again.output
    assert "solution: graded 20/20 (rescored" in again.output
    assert (result["score"], result["max_score"], result["grader_problems"]) == (20.0, 20.0, [])


def test_validate_grades_the_solution_next_to_the_rubric_and_finds_it_complete(
        course: Course) -> None:
    run = grade(course.elsewhere, "validate", "../course/ridge/rubric.yaml")
    assert run.process.returncode == 0, run.output
    assert "ok  graded the solution: 20/20 automatic points" in run.output
    assert run.output.rstrip().endswith("valid")


def test_validate_names_each_check_the_solution_does_not_pass(course: Course, broken: Broken
                                                              ) -> None:
    rubric = course.root / "broken" / "ridge" / "rubric.yaml"  # its reference is fixed by now
    rubric.write_text(edited(rubric.read_text(), "max: 10", "max: 0.5"))
    run = grade(course.elsewhere, "validate", rubric)
    assert run.process.returncode == 1, run.output
    assert (f"!!  {rubric}:87:9: the solution loses points: question 3, check "
            "'best lambda in a sensible range': 0/2: 'best_lam' is 1, expected within "
            "[0.1, 0.5]") in run.output
