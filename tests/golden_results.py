"""`golden_result(name)`: the GradeResult of an example notebook rebuilt, without a kernel, from the
verdicts recorded in tests/golden/example_verdicts.json (statuses, check outcomes, points) and its
assignment's rubric (titles, maxima, manual parts). Messages are placeholders; tests of the outputs'
points and statuses use it to stay in the fast tier."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from grader.ledger import auto_questions, build_ledger
from grader.results import CellError, CheckOutcome, GradeResult, QuestionResult, SectionRecord
from grader.rubric import Rubric, load_rubric
from submissions import examples

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "example_verdicts.json"


@functools.cache
def _golden() -> dict:
    return json.loads(GOLDEN.read_text())


@functools.cache
def rubric_of(name: str) -> Rubric:
    assignment = {e.student: e.assignment for e in examples.example_notebooks()}[name]
    return load_rubric(REPO / "rubrics" / f"{assignment}.yaml")


def golden_names() -> list[str]:
    return sorted(_golden())


def golden_result(name: str) -> GradeResult:
    rubric = rubric_of(name)
    verdicts = _golden()[name]
    questions = []
    for i, q in enumerate(rubric.questions):
        v = verdicts[q.id]
        maxima = {c.label: c.points for c in q.checks}
        checks = [CheckOutcome(label, passed, f"{label}: {'ok' if passed else 'differs'}",
                               points, maxima.get(label, points))
                  for label, passed, points in v["checks"]]
        errors = ([CellError(10 + i, "ValueError", "boom", "Traceback ...", "raise ValueError")]
                  if v["status"] == "error" else [])
        section = SectionRecord(q.id, [10 + i], errors=errors, executed=True,
                                markdown=["My answer."])
        questions.append(QuestionResult(
            q.id, q.title, v["status"], v["points"], q.points, checks,
            manual_points=q.manual.points if q.manual else 0.0,
            model_answer=q.manual.model_answer if q.manual else "", section=section,
            manual_instructions=q.manual.instructions if q.manual else ""))
    ledger = build_ledger(name, [a for a in auto_questions(
        GradeResult(rubric.assignment, name, "", "", 0, 0, 0, questions, {}, {}, 0))])
    return GradeResult(rubric.assignment, name, f"/work/submissions/{name}.ipynb", "sha",
                       ledger.score, ledger.max_score, ledger.pending_manual, questions,
                       {"grader_version": "t", "rubric_sha256": "r" * 12,
                        "packages": {"torch": "t"}, "sandbox": "none"},
                       {"description": "digits", "fingerprint": "f"}, 1.0)
