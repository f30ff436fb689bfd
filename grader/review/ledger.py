"""The review page's one door to the people's grades (grader/manual.py): record, read, refresh.

A thin adapter, so the server depends on four calls only: `save_manual` records a person's points
and comment for one question's manual part (ValueError when out of range); grader/manual.py then
re-renders that student's report, grades.csv and Gradescope files from the stored results (nothing
re-executed), and this writes the class dashboard again; `latest_grades` and `history` read
what was entered, by whom and when; `save_override` / `standing_override` do the same for a
person's points for the whole question (a regrade request).
"""

from __future__ import annotations

from pathlib import Path

from grader.ledger import standing_overrides
from grader.manual import (
    ManualGrade,
    Override,
    default_grader,
    manual_grades,
    overrides,
    record_manual,
    record_override,
)

__all__ = ["ManualGrade", "Override", "default_grader", "history", "latest_grades", "save_manual",
           "save_override", "standing_override"]


def save_manual(out: Path, student: str, question: str, points: float, comment: str,
                grader: str) -> ManualGrade:
    return record_manual(out, student, question, points, comment, grader)  # refreshes outputs


def history(out: Path, student: str, question: str) -> list[ManualGrade]:
    """Every grade entered for this student's question, the latest first."""
    found = [g for g in manual_grades(out) if g.student == student and g.question == question]
    return sorted(found, key=lambda g: g.at, reverse=True)


def latest_grades(out: Path) -> dict[tuple[str, str], ManualGrade]:
    """(student, question) -> the grade that stands (the latest entered)."""
    latest: dict[tuple[str, str], ManualGrade] = {}
    for grade in sorted(manual_grades(out), key=lambda g: g.at):
        latest[(grade.student, grade.question)] = grade
    return latest


def save_override(out: Path, student: str, question: str, points: float, reason: str,
                  grader: str) -> Override:
    """Set the whole question's points, with why (ValueError without a reason or out of range)."""
    return record_override(out, student, question, points, reason, grader)  # refreshes outputs


def standing_override(out: Path, student: str, question: str) -> Override | None:
    return standing_overrides(overrides(out), student).get(question)
