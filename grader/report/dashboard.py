"""Class dashboard: the gradebook -> `<out>/index.html`, one self-contained page for the class.

`class_view(gradebook)` reads every submission and question row into a `ClassView` (plain numbers
and strings); `render_dashboard(view)` renders it with `templates/dashboard.html.j2`: a score
histogram (inline SVG), per-question pass/partial/fail/error rates with the hardest question
marked, manual points still pending, a sortable table of students linking to their reports and
the notebooks that failed to grade with why. No external request, no script needed to read it
(a few lines of inline script sort the table). Every student string is escaped by Jinja2's
autoescape; links use `safe_name`, the same file names the reports are written under.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from grader.ledger import LEDGER_STATUSES, QuestionLedger
from grader.report import atomic_write, render_template, safe_name
from grader.store import Gradebook

DASHBOARD = "index.html"
STATUSES = list(LEDGER_STATUSES)
BINS = 10  # histogram bars of 10 % each


@dataclass(frozen=True)
class StudentView:
    student: str
    report: str  # file name of the report, relative to the dashboard; '' when there is none
    status: str  # graded, failed
    score: float | None
    max_score: float
    percent: float | None
    pending_manual: float
    seconds: float
    reason: str
    statuses: dict[str, str]  # question id -> status


@dataclass(frozen=True)
class QuestionView:
    question_id: str
    title: str
    max_points: float
    counts: dict[str, int]  # status -> students
    mean_fraction: float | None  # mean points / max points over counted students
    pending_manual: float  # manual points not yet entered, over the class
    hardest: bool = False


@dataclass(frozen=True)
class Bar:
    low: int  # percent
    high: int
    count: int


@dataclass
class ClassView:
    assignment: str
    students: list[StudentView] = field(default_factory=list)
    questions: list[QuestionView] = field(default_factory=list)
    histogram: list[Bar] = field(default_factory=list)

    @property
    def graded(self) -> list[StudentView]:
        return [s for s in self.students if s.status != "failed" and s.score is not None]

    @property
    def statuses(self) -> list[str]:
        """The question statuses that occur, in STATUSES order."""
        seen = {status for q in self.questions for status in q.counts}
        return [s for s in STATUSES if s in seen] + sorted(seen - set(STATUSES))

    @property
    def failed(self) -> list[StudentView]:
        return [s for s in self.students if s.status == "failed"]

    @property
    def pending_manual(self) -> float:
        return sum(s.pending_manual for s in self.students)

    @property
    def mean_percent(self) -> float | None:
        marks = [s.percent for s in self.students if s.percent is not None]
        return sum(marks) / len(marks) if marks else None

    @property
    def median_percent(self) -> float | None:
        marks = sorted(s.percent for s in self.students if s.percent is not None)
        if not marks:
            return None
        mid = len(marks) // 2
        return marks[mid] if len(marks) % 2 else (marks[mid - 1] + marks[mid]) / 2


def class_view(gradebook: Gradebook) -> ClassView:
    """Everything the dashboard shows, with the people's grades (each student's ledger)."""
    subs = gradebook.submissions()
    grades, overrides = gradebook.manual_grades(), gradebook.overrides()
    view = ClassView(subs[0].assignment if subs else "")
    per_question: dict[str, list[QuestionLedger]] = {}
    for sub in subs:
        ledger = gradebook.ledger(sub.student, grades, overrides)
        graded = sub.status != "failed" and sub.score is not None
        for q in ledger.questions if graded else ():  # a failed notebook is listed apart
            per_question.setdefault(q.id, []).append(q)
        percent = 100 * sub.score / sub.max_score if graded and sub.max_score else None
        report = safe_name(sub.student) + ".html"  # a grader failure has none: no link
        view.students.append(StudentView(
            sub.student, report if (gradebook.path.parent / report).exists() else "", sub.status,
            sub.score, sub.max_score, percent, ledger.pending_manual if graded else 0.0,
            sub.seconds, sub.reason, {q.id: q.status for q in ledger.questions}))
    for qid, rows in per_question.items():
        counted = [q for q in rows if q.counted and q.auto_max]
        fraction = (sum(q.auto_points / q.auto_max for q in counted) / len(counted)
                    if counted else None)
        view.questions.append(QuestionView(
            qid, rows[0].title, max(q.max_points for q in rows),
            dict(Counter(q.status for q in rows)), fraction, sum(q.manual_pending for q in rows)))
    scored = [q for q in view.questions if q.mean_fraction is not None]
    if scored:
        hardest = min(scored, key=lambda q: q.mean_fraction or 0.0)
        view.questions = [QuestionView(**{**q.__dict__, "hardest": q is hardest})
                          for q in view.questions]
    view.histogram = histogram([s.percent for s in view.students if s.percent is not None])
    return view


def histogram(percents: list[float]) -> list[Bar]:
    """Counts per 10 % band; 100 % falls in the last band."""
    width = 100 // BINS
    counts = Counter(min(int(p // width), BINS - 1) for p in percents)
    return [Bar(i * width, (i + 1) * width, counts.get(i, 0)) for i in range(BINS)]


def render_dashboard(view: ClassView) -> str:
    return render_template(
        "dashboard.html.j2", v=view, statuses=STATUSES, top=max([b.count for b in view.histogram] + [1]))


def write_dashboard(gradebook: Gradebook, out_dir: Path) -> Path:
    """Write `<out>/index.html` atomically; returns its path."""
    path = out_dir / DASHBOARD
    atomic_write(path, render_dashboard(class_view(gradebook)))
    return path
