"""Report stage: `GradeResult` + its `Ledger` -> files: `<student>.json` (the result contract,
result_json.py) and `<student>.html` (the instructor's report: everything); `render_student_html`
renders a `StudentReport` (grader/student_view.py) for `grade release`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from grader.ledger import Ledger, ledger_for_result
from grader.report.result_json import result_json
from grader.results import GradeResult
from grader.student_view import StudentReport

_env = Environment(
    loader=PackageLoader("grader.report", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)



def _student_markdown(text: str) -> Markup:
    """Jinja filter `student_markdown`: a student's markdown as safe HTML (markup.py), math as
    MathML; imported when a report needs it, not when the command line starts."""
    from grader.report.markup import render_markdown

    return Markup(render_markdown(text))  # sanitised by construction (markup.py)


_env.filters["student_markdown"] = _student_markdown

STATUS_LABELS = {
    "pass": "passed",
    "partial": "partial credit",
    "fail": "failed",
    "error": "error",
    "manual_pending": "awaiting review",
    "manual": "graded by hand",
    "override": "set by a person",
    "not_attempted": "not attempted",
    "grader_error": "grader problem: not counted",
}


def render_template(name: str, **context: object) -> str:
    """Render one of templates/ (autoescaped: every string in `context` is escaped)."""
    return _env.get_template(name).render(**context)


def render_html(result: GradeResult, ledger: Ledger | None = None) -> str:
    ledger = ledger or ledger_for_result(result)
    template = _env.get_template("student.html.j2")
    return template.render(r=result, L=ledger, lq={q.id: q for q in ledger.questions},
                           labels=STATUS_LABELS)


def render_student_html(report: StudentReport) -> str:
    """The student's report (grader/student_view.py): nothing a student may not read."""
    return _env.get_template("student_release.html.j2").render(r=report, labels=STATUS_LABELS)


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to a temp file beside `path`, then rename: never a half-written file (a failed
    write, e.g. on a full disk, removes its temp file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def safe_name(student: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in student).strip("._")
    return keep or "student"


def write_reports(result: GradeResult, out_dir: Path, ledger: Ledger | None = None
                  ) -> tuple[Path, Path]:
    """Write the JSON and HTML reports atomically; returns their paths. Without a ledger, the
    result's own (no person has graded)."""
    ledger = ledger or ledger_for_result(result)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = safe_name(result.student)
    json_path, html_path = out_dir / f"{stem}.json", out_dir / f"{stem}.html"
    atomic_write(json_path, json.dumps(result_json(result, ledger), indent=2))
    atomic_write(html_path, render_html(result, ledger))
    return json_path, html_path
