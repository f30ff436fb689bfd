"""Release: a graded class's stored results and people's grades -> what students receive.

`release_class(out, to, after_due)` writes, per student with a stored result,
`<to>/<student>/student.html` (the student's report, grader/student_view.py) and
`<to>/<student>/results.json` (Gradescope's format, student sentences only). Nothing else of `out`
is copied: no model answer, reference value, hidden check's details, other student's data or path of
the grading machine. It never executes or re-scores anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from grader.gradescope import gradescope_results
from grader.manual import open_gradebook
from grader.outputs import stored_result
from grader.report import atomic_write, render_student_html, safe_name
from grader.student_view import after_due_visible, student_report

STUDENT_HTML = "student.html"
RESULTS_JSON = "results.json"


@dataclass
class Released:
    students: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (student, why)


def release_class(out: Path, to: Path, after_due: bool = False) -> Released:
    if to.resolve() == out.resolve():
        raise ValueError(f"--to {to} is the graded folder itself: release into a folder of its "
                         "own (it receives only what students may read)")
    released = Released()
    with open_gradebook(out) as gradebook:
        grades, overrides = gradebook.manual_grades(), gradebook.overrides()
        for sub in gradebook.submissions():
            result = stored_result(gradebook, sub.student)
            if result is None:
                why = ("the grader failed on it" if sub.score is None else
                       "graded by an older grader: grade it again (--force) to release it")
                released.skipped.append((sub.student, why))
                continue
            ledger = gradebook.ledger(sub.student, grades, overrides)
            folder = to / safe_name(sub.student)
            show = after_due_visible(result, after_due)
            atomic_write(folder / STUDENT_HTML,
                         render_student_html(student_report(result, ledger, show)))
            gradescope = gradescope_results(sub, gradebook.questions(sub.student), ledger,
                                            after_due=show)
            atomic_write(folder / RESULTS_JSON, json.dumps(gradescope, indent=2))
            released.students.append(sub.student)
    return released

