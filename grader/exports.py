"""Exports: the gradebook -> files other systems import.

`write_grades_csv` writes `<out>/grades.csv`: one row per student (a `student` column first, one
column per question id with the points earned, then `total`, `max`, `status`, `pending_manual`,
`reason`), the shape LMS gradebooks import. Students on the roster without a submission get a row
with status `missing` and empty points; a submission the grader itself failed on has empty points.

`write_gradescope` writes `<out>/gradescope/<student>/results.json` in Gradescope's autograder
format: one test per question, scored on its automatic points (manual points are awarded on
Gradescope, so they are not in `max_score`).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from grader.report import atomic_write, safe_name
from grader.results import GRADER_ERROR
from grader.store import Gradebook, QuestionRow, SubmissionRow

GRADES_CSV = "grades.csv"
GRADESCOPE_DIR = "gradescope"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def grades_table(gradebook: Gradebook, question_ids: list[str],
                 roster: list[str] | None = None) -> tuple[list[str], list[dict[str, str]]]:
    """(columns, rows) of grades.csv: the gradebook's students, then the roster's missing ones."""
    subs = gradebook.submissions()
    per_student = {s.student: gradebook.questions(s.student) for s in subs}
    extra = sorted({q.question_id for qs in per_student.values() for q in qs} - set(question_ids))
    qids = list(question_ids) + extra
    columns = ["student", *qids, "total", "max", "status", "pending_manual", "reason"]
    rows = []
    for s in subs:
        points = {q.question_id: q.points for q in per_student[s.student]
                  if q.status != GRADER_ERROR}  # not counted: an empty cell
        row = {"student": s.student, "total": _number(s.score), "max": f"{s.max_score:g}",
               "status": s.status, "pending_manual": f"{s.pending_manual:g}",
               "reason": s.reason.replace("\n", " ")[:300]}
        row.update({qid: _number(points.get(qid)) for qid in qids})
        rows.append(row)
    max_score = max((s.max_score for s in subs), default=0.0)
    graded = {s.student for s in subs}
    for student in roster or []:
        if student not in graded:
            row = {c: "" for c in columns}
            row.update(student=student, max=f"{max_score:g}", status="missing",
                       reason="no submission")
            rows.append(row)
    return columns, rows


def write_grades_csv(gradebook: Gradebook, out_dir: Path, question_ids: list[str],
                     roster: list[str] | None = None) -> Path:
    columns, rows = grades_table(gradebook, question_ids, roster)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = out_dir / GRADES_CSV
    atomic_write(path, buffer.getvalue())
    return path


def gradescope_results(sub: SubmissionRow, questions: list[QuestionRow]) -> dict[str, Any]:
    """Gradescope's results.json for one submission."""
    tests = []
    for q in questions:
        lines = [f"{'✓' if m['passed'] else '✗'} {m['name']} ({m['points']:.4g}/"
                 f"{m['max_points']:g}): {m['message']}" for m in q.messages]
        if q.not_run_reason:
            lines.insert(0, f"not run: {q.not_run_reason}")
        for e in q.errors:
            said = f"cell {e['cell_index']} raised {e['ename']}: {e['evalue']}"
            lines.append(f"{said} ({e['expected']})" if e.get("expected") else said)
        if q.manual_points:
            lines.append(f"{q.manual_points:g} more points are awarded by hand.")
        counted = q.status != GRADER_ERROR
        if not counted:
            lines.insert(0, "Not counted: the grader could not check this question (its problem, "
                            "not this notebook's); it is left out until the instructor fixes it.")
        tests.append({
            "name": f"{q.question_id} {q.title}",
            "score": round(q.points, 4) if counted else 0.0,
            "max_score": q.max_points - q.manual_points if counted else 0.0,
            "output": "\n".join(lines),
            "visibility": "visible",
        })
    if sub.status == "failed":
        output = f"This notebook could not be graded: {sub.reason}"
    elif sub.reason:
        output = f"Execution stopped early: {sub.reason}"
    else:
        output = "All cells ran."
    if sub.pending_manual:
        output += f" {sub.pending_manual:g} points await manual review."
    return {
        "score": round(sub.score or 0.0, 4),
        "execution_time": round(sub.seconds),
        "output": output,
        "tests": tests,
    }


def write_gradescope(gradebook: Gradebook, out_dir: Path, student: str) -> Path | None:
    """Write one student's results.json; None when the gradebook has no row for them."""
    sub = gradebook.submission(student)
    if sub is None:
        return None
    path = out_dir / GRADESCOPE_DIR / safe_name(student) / "results.json"
    atomic_write(path, json.dumps(gradescope_results(sub, gradebook.questions(student)),
                                   indent=2))
    return path
