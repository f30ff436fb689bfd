"""Outputs: a stored result + the people's grades -> every file a student's grade appears in.

`write_student_outputs(gradebook, out_dir, student)` computes the student's `Ledger` (their stored
result and the gradebook's manual grades and overrides), writes `<student>.json` / `.html` from the
stored result, the ledger's totals on the gradebook row and Gradescope's results.json; it never
executes or re-scores anything. The batch calls it as each result is recorded, and
`grader.manual.refresh_outputs` after a person grades.
"""

from __future__ import annotations

from pathlib import Path

from grader.exports import write_gradescope
from grader.ledger import Ledger, ledger_for_result
from grader.report import write_reports
from grader.resultio import result_from_dict
from grader.results import GradeResult, ManualGrade, Override
from grader.store import Gradebook


def stored_result(gradebook: Gradebook, student: str) -> GradeResult | None:
    """The full result the gradebook holds for `student` (None: a grader failure, or a row written
    by a schema 1 grader: its reports stay as they are until it is graded again)."""
    data = gradebook.stored_result(student)
    return result_from_dict(data) if data is not None else None


def write_student_outputs(gradebook: Gradebook, out_dir: Path, student: str,
                          grades: list[ManualGrade] | None = None,
                          overrides: list[Override] | None = None) -> Ledger | None:
    """Render one student's files from the gradebook; returns their ledger (None: no row)."""
    sub = gradebook.submission(student)
    if sub is None:
        return None
    grades = gradebook.manual_grades() if grades is None else grades
    overrides = gradebook.overrides() if overrides is None else overrides
    result = stored_result(gradebook, student)
    if result is not None:
        ledger = ledger_for_result(result, grades, overrides)
        write_reports(result, out_dir, ledger)
    else:
        ledger = gradebook.ledger(student, grades, overrides)
    if sub.score is not None:
        gradebook.update_totals(student, ledger.score, ledger.max_score, ledger.pending_manual)
    write_gradescope(gradebook, out_dir, student, ledger)
    return ledger
