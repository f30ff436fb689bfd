"""The people's grades: manual points and overrides, in `<out>/gradebook.sqlite`.

Takes what a person decided (points for a question's manual part with a comment; a whole question's
points with a reason), validates it against the student's recorded result, records it with who and
when (every entry kept: the latest per student and question wins), and `refresh_outputs` renders the
reports, grades.csv and Gradescope files again from the stored results and the ledger
(grader/ledger.py), never executing or re-scoring a notebook. The people's grades are keyed by
student and question, so they survive a regrade, `--force` and `--rescore`.

This is the API the review page and `grade manual` / `grade override` call.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.exports import stored_roster, write_grades_csv
from grader.outputs import stored_result, write_student_outputs
from grader.report.dashboard import write_dashboard
from grader.results import ManualGrade, Override
from grader.store import GRADEBOOK_NAME, Gradebook, QuestionRow, now_iso

__all__ = [
    "ManualGrade",
    "ManualItem",
    "Override",
    "default_grader",
    "manual_grades",
    "manual_items",
    "overrides",
    "record_manual",
    "record_override",
    "refresh_outputs",
    "remove_override",
    "validate_manual",
]


@dataclass(frozen=True)
class ManualItem:
    """One student's manual part of one question, as the rubric and the result have it."""

    student: str
    question: str
    title: str
    max_points: float
    instructions: str
    model_answer: str
    grade: ManualGrade | None  # the latest, if a person has graded it


def default_grader() -> str:
    """Who is grading: $USER, else the login name, else 'unknown'."""
    try:
        return os.environ.get("USER") or getpass.getuser() or "unknown"
    except (OSError, KeyError):
        return "unknown"


def open_gradebook(out: Path) -> Gradebook:
    """The gradebook of a graded class; ValueError when `out` holds none."""
    if not (out / GRADEBOOK_NAME).is_file():
        raise ValueError(f"{out}: no {GRADEBOOK_NAME} here (grade the class into this --out "
                         "folder first)")
    return Gradebook(out)


def _question(gradebook: Gradebook, student: str, question: str) -> QuestionRow:
    if gradebook.submission(student) is None:
        known = ", ".join(s.student for s in gradebook.submissions()[:10])
        raise ValueError(f"unknown student '{student}' in {gradebook.path} (students: {known})")
    rows = gradebook.questions(student)
    row = next((q for q in rows if q.question_id == question), None)
    if row is None:
        ids = ", ".join(q.question_id for q in rows)
        raise ValueError(f"unknown question '{question}' for {student} (questions: {ids})")
    return row


def validate_manual(gradebook: Gradebook, student: str, question: str, points: float) -> float:
    """The question's manual maximum; ValueError saying what is wrong otherwise."""
    row = _question(gradebook, student, question)
    if not row.manual_points:
        manual = [q.question_id for q in gradebook.questions(student) if q.manual_points]
        raise ValueError(f"question {question} has no manual part (questions graded by hand: "
                         f"{', '.join(manual) or 'none'}); use an override to change its points")
    if not 0 <= points <= row.manual_points:
        raise ValueError(f"{student}, question {question}: {points:g} points is outside 0 to "
                         f"{row.manual_points:g}, the manual part's maximum")
    return row.manual_points


def record_manual(out: Path, student: str, question: str, points: float, comment: str = "",
                  grader: str = "") -> ManualGrade:
    """Record points for a question's manual part and refresh the student's outputs."""
    points = float(points)
    with open_gradebook(out) as gradebook:
        max_points = validate_manual(gradebook, student, question, points)
        grade = ManualGrade(student, question, points, comment, grader or default_grader(),
                            now_iso(), max_points)
        gradebook.add_manual_grade(grade)
    refresh_outputs(out, [student])
    return grade


def validate_override(gradebook: Gradebook, student: str, question: str, points: float,
                      reason: str) -> None:
    row = _question(gradebook, student, question)
    if not reason.strip():
        raise ValueError(f"{student}, question {question}: an override needs a reason "
                         "(--reason), kept with who and when")
    if not 0 <= points <= row.max_points:
        raise ValueError(f"{student}, question {question}: {points:g} points is outside 0 to "
                         f"{row.max_points:g}, the question's points")


def record_override(out: Path, student: str, question: str, points: float, reason: str,
                    grader: str = "") -> Override:
    """Set a whole question's points (a regrade request, a grader's judgement), with why."""
    points = float(points)
    with open_gradebook(out) as gradebook:
        validate_override(gradebook, student, question, points, reason)
        override = Override(student, question, points, reason.strip(),
                            grader or default_grader(), now_iso())
        gradebook.add_override(override)
    refresh_outputs(out, [student])
    return override


def remove_override(out: Path, student: str, question: str, reason: str = "",
                    grader: str = "") -> Override:
    """Withdraw the standing override (recorded as an entry of its own: the history stays)."""
    with open_gradebook(out) as gradebook:
        _question(gradebook, student, question)
        override = Override(student, question, 0.0, reason.strip() or "removed",
                            grader or default_grader(), now_iso(), removed=True)
        gradebook.add_override(override)
    refresh_outputs(out, [student])
    return override


def manual_grades(out: Path) -> list[ManualGrade]:
    """Every manual grade recorded, oldest first."""
    with open_gradebook(out) as gradebook:
        return gradebook.manual_grades()


def overrides(out: Path) -> list[Override]:
    """Every override entry recorded (removals included), oldest first."""
    with open_gradebook(out) as gradebook:
        return gradebook.overrides()


def manual_items(out: Path) -> list[ManualItem]:
    """Every student's manual parts, student by student in the rubric's question order."""
    with open_gradebook(out) as gradebook:
        latest = {(g.student, g.question): g for g in gradebook.manual_grades()}
        items = []
        for sub in gradebook.submissions():
            result = stored_result(gradebook, sub.student)
            texts = {q.id: (q.manual_instructions, q.model_answer)
                     for q in (result.questions if result else [])}
            for q in gradebook.questions(sub.student):
                if q.manual_points:
                    instructions, model = texts.get(q.question_id, ("", ""))
                    items.append(ManualItem(sub.student, q.question_id, q.title,
                                            q.manual_points, instructions, model,
                                            latest.get((sub.student, q.question_id))))
        return items


def refresh_outputs(out: Path, students: Iterable[str] | None = None) -> None:
    """Render reports, the gradebook's totals, Gradescope files (for `students`, default all),
    grades.csv and the class dashboard again from the stored results and the people's grades; never executes a notebook."""
    with open_gradebook(out) as gradebook:
        grades, entries = gradebook.manual_grades(), gradebook.overrides()
        names = ([s.student for s in gradebook.submissions()] if students is None
                 else list(students))
        for student in names:
            write_student_outputs(gradebook, out, student, grades, entries)
        write_grades_csv(gradebook, out, None, stored_roster(gradebook))
        write_dashboard(gradebook, out)
