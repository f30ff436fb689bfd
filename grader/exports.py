"""Exports: the gradebook and its ledger -> files other systems import.

`write_grades_csv` writes `<out>/grades.csv`: one row per student (a `student` column first, one
column per question id with the points the question adds to the total, then `total`, `max`, `status`,
`pending_manual`, `manual_awarded`, `overrides`, `reason`, then one `<id> status` column per
question with its ledger status: pass, partial, fail, error, manual_pending, manual, override,
grader_error, not_attempted), the shape LMS gradebooks import. Students on the roster without a
submission get a row with status `missing` and empty points; a submission the grader itself failed
on has empty points; a question left out as a grader problem has an empty cell.

`write_gradescope` writes `<out>/gradescope/<student>/results.json` in Gradescope's autograder
format (grader/gradescope.py). Every figure comes from the ledger (grader/ledger.py).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from grader.gradescope import gradescope_results
from grader.ledger import Ledger
from grader.report import atomic_write, safe_name
from grader.store import Gradebook

GRADES_CSV = "grades.csv"
GRADESCOPE_DIR = "gradescope"
ROSTER_META = "roster"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def grades_table(gradebook: Gradebook, question_ids: list[str],
                 roster: list[str] | None = None) -> tuple[list[str], list[dict[str, str]]]:
    """(columns, rows) of grades.csv: the gradebook's students, then the roster's missing ones."""
    subs = gradebook.submissions()
    grades, overrides = gradebook.manual_grades(), gradebook.overrides()
    ledgers = {s.student: gradebook.ledger(s.student, grades, overrides) for s in subs}
    extra = sorted({q.id for led in ledgers.values() for q in led.questions} - set(question_ids))
    qids = list(question_ids) + extra
    columns = ["student", *qids, "total", "max", "status", "pending_manual", "manual_awarded",
               "overrides", "reason", *(f"{qid} status" for qid in qids)]
    rows = []
    for s in subs:
        ledger = ledgers[s.student]
        failed = s.score is None
        row = {"student": s.student,
               "total": "" if failed else _number(ledger.score),
               "max": f"{ledger.max_score if ledger.questions else s.max_score:g}",
               "status": s.status, "pending_manual": f"{ledger.pending_manual:g}",
               "manual_awarded": f"{ledger.manual_awarded:g}",
               "overrides": " ".join(ledger.overridden),
               "reason": s.reason.replace("\n", " ")[:300]}
        for qid in qids:
            q = ledger.question(qid)
            row[qid] = "" if q is None or not q.counted or failed else _number(q.points)
            row[f"{qid} status"] = "" if q is None else q.status
        rows.append(row)
    max_score = max((float(r["max"]) for r in rows), default=0.0)
    graded = {s.student for s in subs}
    for student in roster or []:
        if student not in graded:
            row = {c: "" for c in columns}
            row.update(student=student, max=f"{max_score:g}", status="missing",
                       reason="no submission")
            rows.append(row)
    return columns, rows


def stored_roster(gradebook: Gradebook) -> list[str] | None:
    """The roster the last run was given (None: none)."""
    stored = gradebook.meta(ROSTER_META)
    return json.loads(stored) if stored else None


def write_grades_csv(gradebook: Gradebook, out_dir: Path, question_ids: list[str] | None = None,
                     roster: list[str] | None = None) -> Path:
    """Write grades.csv and remember `roster` in the gradebook (a refresh after manual grading
    passes `stored_roster`); question ids default to the gradebook's own."""
    gradebook.set_meta(ROSTER_META, json.dumps(roster) if roster is not None else "")
    if question_ids is None:
        question_ids = gradebook.question_ids()
    columns, rows = grades_table(gradebook, question_ids, roster)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = out_dir / GRADES_CSV
    atomic_write(path, buffer.getvalue())
    return path


def write_gradescope(gradebook: Gradebook, out_dir: Path, student: str,
                     ledger: Ledger | None = None) -> Path | None:
    """Write one student's results.json; None when the gradebook has no row for them."""
    sub = gradebook.submission(student)
    if sub is None:
        return None
    ledger = ledger or gradebook.ledger(student)
    path = out_dir / GRADESCOPE_DIR / safe_name(student) / "results.json"
    atomic_write(path, json.dumps(gradescope_results(sub, gradebook.questions(student), ledger),
                                   indent=2))
    return path
