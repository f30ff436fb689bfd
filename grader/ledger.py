"""Ledger stage: what the checks gave + what people gave -> the points every output shows.

Takes one `AutoQuestion` per question (the score stage's status and automatic points, from a
`GradeResult` or from gradebook rows) and the people's grades (`ManualGrade`, `Override`: every
entry kept, the latest per student and question wins). Returns a `Ledger`: per question its
`LedgerStatus`, automatic points, manual points awarded or pending, override, and what it adds to
the score and the maximum; totals over the questions. The JSON result, the HTML reports, the
gradebook's totals, grades.csv, Gradescope's results.json and the terminal all read a `Ledger`, so
they cannot disagree.

Rules, in order:
- an override is a person's decision on the whole question: its points count, out of the question's
  full points, whatever the checks said (a grader problem included);
- `grader_error` (the grader's problem): the question is left out of the score and the maximum;
- otherwise the question counts its automatic points plus its manual points once a person has
  awarded them; until then those are `manual_pending` (whatever the automatic part did: the written
  answer is a person's to judge) and are in the maximum but not the score;
- a manual grade given when the rubric's manual maximum was different is shown with a note; one
  above the present maximum is held (pending again) rather than clamped; so is an override above
  the question's present points (the checks' points count again).

Statuses: `override`; `grader_error`; `not_attempted` (the section is the handout's, unchanged, and
earned less than its automatic points); `error`; then for a question with a manual part whose
automatic part is complete, `manual_pending` (awaiting a person) or `manual` (graded by a person);
else the automatic status: `pass`, `partial`, `fail`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from grader.results import GRADER_ERROR, GradeResult, ManualGrade, Override

LedgerStatus = Literal["pass", "partial", "fail", "error", "manual_pending", "manual", "override",
                       "grader_error", "not_attempted"]
LEDGER_STATUSES: tuple[str, ...] = ("pass", "partial", "fail", "error", "manual_pending", "manual",
                                    "override", "grader_error", "not_attempted")
_EPS = 1e-9


@dataclass(frozen=True)
class AutoQuestion:
    """What the score stage decided for one question."""

    id: str
    title: str
    status: str  # the score stage's: pass, partial, fail, error, manual, grader_error
    points: float  # automatic points earned
    max_points: float  # the question's full points, manual part included
    manual_max: float  # the manual part's points (0: none)
    not_attempted: bool = False

    @property
    def auto_max(self) -> float:
        return self.max_points - self.manual_max


@dataclass(frozen=True)
class QuestionLedger:
    id: str
    title: str
    status: LedgerStatus
    auto_status: str
    auto_points: float
    auto_max: float
    manual_max: float
    manual_awarded: float  # counted manual points (0 while pending)
    manual_pending: float  # manual points still awaiting a person (in max_points, not points)
    manual: ManualGrade | None  # the latest manual grade, counted or held
    override: Override | None  # the standing override
    points: float  # what this question adds to the score
    max_points: float  # what it adds to the maximum (0 when not counted)
    counted: bool
    notes: tuple[str, ...] = ()

    @property
    def automatic_complete(self) -> bool:
        return self.auto_points >= self.auto_max - _EPS


@dataclass(frozen=True)
class Ledger:
    student: str
    questions: tuple[QuestionLedger, ...]

    @property
    def score(self) -> float:
        return round(sum(q.points for q in self.questions), 6)

    @property
    def max_score(self) -> float:
        return round(sum(q.max_points for q in self.questions), 6)

    @property
    def auto_score(self) -> float:
        return round(sum(q.auto_points for q in self.questions
                         if q.counted and q.override is None), 6)

    @property
    def manual_awarded(self) -> float:
        return round(sum(q.manual_awarded for q in self.questions), 6)

    @property
    def pending_manual(self) -> float:
        return round(sum(q.manual_pending for q in self.questions), 6)

    @property
    def overridden(self) -> list[str]:
        return [q.id for q in self.questions if q.override is not None]

    def question(self, qid: str) -> QuestionLedger | None:
        return next((q for q in self.questions if q.id == qid), None)

    def counts(self) -> dict[str, int]:
        """How many questions have each status."""
        return {s: sum(q.status == s for q in self.questions) for s in LEDGER_STATUSES}


def latest_manual(grades: Iterable[ManualGrade], student: str) -> dict[str, ManualGrade]:
    """question id -> the latest manual grade of `student` (entries are in the order recorded)."""
    return {g.question: g for g in grades if g.student == student}


def standing_overrides(overrides: Iterable[Override], student: str) -> dict[str, Override]:
    """question id -> the standing override of `student` (a later `removed` entry withdraws)."""
    latest = {o.question: o for o in overrides if o.student == student}
    return {q: o for q, o in latest.items() if not o.removed}


def question_ledger(auto: AutoQuestion, manual: ManualGrade | None,
                    override: Override | None) -> QuestionLedger:
    counted = auto.status != GRADER_ERROR
    notes: list[str] = []
    awarded = 0.0
    held = None
    if manual is not None and auto.manual_max > 0:
        changed = manual.max_points and abs(manual.max_points - auto.manual_max) > _EPS
        if manual.points > auto.manual_max + _EPS:
            held = manual
            notes.append(f"manual grade {manual.points:g} ({manual.grader}, {manual.at}) is above "
                         f"the rubric's manual maximum, now {auto.manual_max:g}"
                         + (f" (it was {manual.max_points:g})" if changed else "")
                         + ": not counted until it is entered again")
        else:
            awarded = manual.points
            if changed:
                notes.append(f"manual grade given out of {manual.max_points:g}; the rubric's "
                             f"manual maximum is now {auto.manual_max:g}")
    if override is not None and override.points > auto.max_points + _EPS:
        notes.append(f"override {override.points:g} ({override.grader}, {override.at}) is above "
                     f"the question's points, now {auto.max_points:g}: not counted until it is "
                     "entered again")
        override = None
    graded = manual is not None and held is None and auto.manual_max > 0
    pending = 0.0 if graded else auto.manual_max
    complete = auto.points >= auto.auto_max - _EPS
    if override is not None:
        status: LedgerStatus = "override"
        points, max_points, pending, counted = override.points, auto.max_points, 0.0, True
    elif not counted:
        status, points, max_points, pending, awarded = "grader_error", 0.0, 0.0, 0.0, 0.0
    else:
        points, max_points = auto.points + awarded, auto.max_points
        if auto.not_attempted and not complete:
            status = "not_attempted"
        elif auto.status == "error":
            status = "error"
        elif auto.manual_max > 0 and complete:
            status = "manual" if graded else "manual_pending"
        elif complete:
            status = "pass"
        else:
            status = "fail" if auto.points <= _EPS else "partial"
    return QuestionLedger(
        id=auto.id, title=auto.title, status=status, auto_status=auto.status,
        auto_points=auto.points, auto_max=auto.auto_max, manual_max=auto.manual_max,
        manual_awarded=awarded if override is None else 0.0, manual_pending=pending,
        manual=manual if auto.manual_max > 0 else None, override=override,
        points=round(points, 6), max_points=max_points, counted=counted, notes=tuple(notes))


def build_ledger(student: str, questions: Sequence[AutoQuestion],
                 grades: Iterable[ManualGrade] = (), overrides: Iterable[Override] = ()
                 ) -> Ledger:
    manual = latest_manual(grades, student)
    standing = standing_overrides(overrides, student)
    return Ledger(student, tuple(question_ledger(q, manual.get(q.id), standing.get(q.id))
                                 for q in questions))


def auto_questions(result: GradeResult) -> list[AutoQuestion]:
    """The score stage's part of a result, per question."""
    return [AutoQuestion(q.id, q.title, q.status, q.points, q.max_points, q.manual_points,
                         q.not_attempted) for q in result.questions]


def ledger_for_result(result: GradeResult, grades: Iterable[ManualGrade] = (),
                      overrides: Iterable[Override] = ()) -> Ledger:
    return build_ledger(result.student, auto_questions(result), grades, overrides)
