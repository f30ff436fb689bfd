"""Gradescope: one student's gradebook rows and ledger -> Gradescope's autograder `results.json`.

The format (https://gradescope-autograders.readthedocs.io/en/latest/specs/): top level `score`,
`execution_time`, `output`, `visibility`, `stdout_visibility` and `tests`; one test per question
with `name`, `number` (the question id), `score`, `max_score`, `status` (passed / failed), `output`
and `visibility`. Scores are the ledger's (grader/ledger.py): a question's `max_score` is its full
points, the part graded by hand included; its `output` says how many of them a person grades and
whether they have been awarded yet. A grader problem is a 0/0 test saying it is not counted.
Everything is the student's form (grader/student_view.py): no reference value, hidden check's
details or path of the grading machine; a question's `after_due` checks are a 0-point test of their
own with visibility `after_due_date`, so Gradescope shows them once the due date has passed.
"""

from __future__ import annotations

from typing import Any

from grader.ledger import Ledger, QuestionLedger
from grader.results import CheckOutcome
from grader.secret import scrub_paths
from grader.store import QuestionRow, SubmissionRow
from grader.student_view import StudentCheck, student_check


def _manual_line(q: QuestionLedger) -> str:
    if q.override is not None:
        return ""
    if q.manual_pending:
        return (f"{q.manual_pending:g} of this question's {q.max_points:g} points are graded by "
                "hand and have not been awarded yet.")
    if q.manual is not None and q.manual_awarded == q.manual.points:
        said = f": {q.manual.comment}" if q.manual.comment else ""
        return f"Graded by hand: {q.manual_awarded:g}/{q.manual_max:g}{said}"
    return ""


def _outcome(message: dict) -> CheckOutcome:
    """A gradebook row's check as an outcome (rows of schema 1 have no student sentence: then
    only passed / failed is shown)."""
    return CheckOutcome(message["name"], message["passed"], message["message"],
                        message["points"], message["max_points"],
                        grader_problem=message.get("grader_problem", False),
                        student_message=message.get("student_message", ""),
                        visibility=message.get("visibility", "visible"),
                        hint=message.get("hint", ""))


def _check_line(c: StudentCheck) -> str:
    return f"{'✓' if c.passed else '✗'} {c.name} ({c.points:.4g}/{c.max_points:g}): {c.message}"


def question_output(row: QuestionRow, q: QuestionLedger, show_after_due: bool = False) -> str:
    """What the student reads under one question: student sentences only (grader/student_view)."""
    lines = [_check_line(student_check(_outcome(m), show_after_due)) for m in row.messages]
    if row.not_run_reason:
        lines.insert(0, f"not run: {scrub_paths(row.not_run_reason)}")
    for e in row.errors:
        said = f"cell {e['cell_index']} raised {e['ename']}: {scrub_paths(e['evalue'])}"
        lines.append(f"{said} ({scrub_paths(e['expected'])})" if e.get("expected") else said)
    if q.status == "not_attempted":
        lines.insert(0, "Not attempted: this section's code is the handout's, unchanged.")
    manual = _manual_line(q)
    if manual:
        lines.append(manual)
    if q.override is not None:
        lines.insert(0, f"Points set by {q.override.grader}: {q.override.points:g}/"
                        f"{q.max_points:g} ({q.override.reason}).")
    if not q.counted:
        lines.insert(0, "Not counted: the grader could not check this question (its problem, "
                        "not this notebook's); it is left out until the instructor fixes it.")
    return "\n".join(lines)


def after_due_test(row: QuestionRow, q: QuestionLedger) -> dict[str, Any] | None:
    """The details of a question's `after_due` checks as a 0-point test Gradescope shows once the
    due date has passed (None when the question has none)."""
    late = [m for m in row.messages if m.get("visibility") == "after_due"]
    if not late:
        return None
    return {"name": f"{q.id} {q.title}: details after the due date", "number": f"{q.id}.due",
            "score": 0.0, "max_score": 0.0, "status": "passed",
            "output": "\n".join(_check_line(student_check(_outcome(m), True)) for m in late),
            "visibility": "after_due_date"}


def _status(q: QuestionLedger) -> str:
    """passed: every point counted so far earned (a pending manual part is not a failure)."""
    return "passed" if q.points >= q.max_points - q.manual_pending - 1e-9 else "failed"


def top_output(sub: SubmissionRow, questions: list[QuestionRow], ledger: Ledger) -> str:
    if sub.status == "failed":
        output = f"This notebook could not be graded: {scrub_paths(sub.reason)}"
    elif sub.reason:
        output = f"Execution stopped early: {scrub_paths(sub.reason)}"
    else:
        raised = sorted({e["cell_index"] for q in questions for e in q.errors
                         if not e.get("expected")})
        output = ("All cells ran." if not raised else
                  f"Cell{'s' if len(raised) > 1 else ''} {', '.join(map(str, raised))} raised "
                  "an error (see the questions below).")
    if ledger.pending_manual:
        output += f" {ledger.pending_manual:g} points are graded by hand and await a reviewer."
    return output


def gradescope_results(sub: SubmissionRow, questions: list[QuestionRow], ledger: Ledger,
                       after_due: bool = False) -> dict[str, Any]:
    """Gradescope's results.json for one submission; `after_due`: show every `after_due` check
    now (else each question's are a test of their own that Gradescope shows after the due date)."""
    rows = {r.question_id: r for r in questions}
    tests = []
    for q in ledger.questions:
        row = rows[q.id]
        tests.append({
            "name": f"{q.id} {q.title}",
            "number": q.id,
            "score": round(q.points, 4),
            "max_score": q.max_points,
            "status": _status(q),
            "output": question_output(row, q, after_due),
            "visibility": "visible",
        })
        late = None if after_due else after_due_test(row, q)
        if late is not None:
            tests.append(late)
    return {
        "score": round(ledger.score, 4) if sub.score is not None else 0.0,
        "execution_time": round(sub.seconds),
        "output": top_output(sub, questions, ledger),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
