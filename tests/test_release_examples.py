"""`grade release` on the example class graded for real (confined kernels): alice, bob and the
handout's own answers of Lab 9, erin of hw2. Every released file is searched for every model answer
and reviewer instruction of the rubrics, every number the instructor's sentences state that the
student's do not (reference values), other students' names and the grading machine's paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, RUBRICS

from grader.cli import main
from grader.outputs import write_student_outputs
from grader.results import GradeResult
from grader.rubric import load_rubric
from grader.store import Gradebook, Provenance

pytestmark = pytest.mark.kernel

STUDENTS = ("alice", "bob", "handout_lab9", "erin")
NUMBER = re.compile(r"\d+\.\d{3,}")


def reference_numbers(result: GradeResult) -> set[str]:
    """Numbers the instructor's sentences state and the student's own work does not show."""
    own = " ".join(
        [c.student_message for q in result.questions for c in q.checks]
        + [(q.section.stdout + " ".join(e.evalue + e.traceback for e in q.section.errors))
           for q in result.questions if q.section is not None])
    return {n for q in result.questions for c in q.checks
            for n in NUMBER.findall(c.message)} - set(NUMBER.findall(own))


def test_released_reports_of_the_example_class_hold_nothing_secret(
        graded_example, tmp_path: Path) -> None:
    out, to = tmp_path / "out", tmp_path / "released"
    results = {name: graded_example(name) for name in STUDENTS}
    with Gradebook(out) as gradebook:
        for result in results.values():
            gradebook.record_result(result, result.notebook_sha256, Provenance("r", "s", "v"))
            write_student_outputs(gradebook, out, result.student)
    done = CliRunner().invoke(main, ["release", str(out), "--to", str(to)])
    assert done.exit_code == 0, done.output

    texts = [q.manual.model_answer for a in ("lab9", "hw2")
             for q in load_rubric(RUBRICS / f"{a}.yaml").questions if q.manual]
    texts += [q.manual.instructions for a in ("lab9", "hw2")
              for q in load_rubric(RUBRICS / f"{a}.yaml").questions if q.manual]
    paths = [str(out), str(tmp_path), str(REPO), "/work/", "/tmp/", str(Path.home()) + "/"]
    stated = {name: reference_numbers(r) for name, r in results.items()}
    assert stated["bob"], "bob's instructor sentences state reference values (his 1.3)"
    instructor = (out / "bob.html").read_text()
    assert all(n in instructor for n in stated["bob"])  # the instructor's report keeps them
    for name in STUDENTS:
        for path in (to / name / "student.html", to / name / "results.json"):
            text = path.read_text()
            leaks = [t[:50] for t in texts if t[:50] in text]
            leaks += [p for p in paths if p in text]
            leaks += [n for n in stated[name] if re.search(rf"(?<![\d.]){re.escape(n)}(?!\d)", text)]
            leaks += [o for o in STUDENTS if o != name and re.search(rf"\b{o}\b", text)]
            assert not leaks, (path, leaks)
    alice = (to / "alice" / "student.html").read_text()
    assert "Notebook alice.ipynb" in alice and "8 points await a reviewer" in alice
