"""Score stage: a question's check verdicts -> `QuestionResult` (status, points, sentences).

Statuses: pass (all automatic points), partial, fail (none), error (none, and the section raised or
could not be inspected: the error is the story), manual (automatic part complete, a human still has
points to award). A forbidden shortcut voids the whole question. A check that could not judge the
notebook through the grader's own fault (`Verdict.grader`) is excluded from the question's points
and maximum, and says so. Checks that read other checks' outcomes (`CheckType.reads`, `requires`)
are scored after them; outcomes are listed in the rubric's order.
"""

from __future__ import annotations

from grader.capture import QuestionCapture
from grader.checks import registry
from grader.checks.base import ScoreContext, Verdict
from grader.expected import ReferenceError_
from grader.results import CheckOutcome, QuestionResult, SectionRecord, Status
from grader.rubric import QuestionSpec

GRADER_PROBLEM = "not counted, the grader's problem and not this notebook's: "


def score_question(question: QuestionSpec, capture: QuestionCapture, ctx: ScoreContext
                   ) -> QuestionResult:
    scored: dict[int, CheckOutcome] = {}
    voided = ""
    for ci in _scoring_order(question):
        check = question.checks[ci]
        label = check.name or check.type
        verdict = _verdict(ci, check, capture, ctx)
        ctx.outcomes[label] = verdict.passed
        if verdict.voids_question:
            voided = verdict.message
        scored[ci] = _outcome(label, verdict, check.points)
    outcomes = [scored[ci] for ci in range(len(question.checks))]
    excluded = sum(c.points for c, o in zip(question.checks, outcomes) if o.grader_problem)
    auto_max = sum(c.points for c in question.checks) - excluded
    points = 0.0 if voided else sum(o.points for o in outcomes)
    if voided:
        outcomes.append(CheckOutcome("question voided", False,
                                     f"0 points for the whole question: {voided}", 0.0, 0.0))
    status = _status(question, points, auto_max, capture, ctx.section)
    return QuestionResult(
        id=question.id, title=question.title, status=status, points=points,
        max_points=question.points - excluded, checks=outcomes,
        manual_points=question.manual.points if question.manual else 0.0,
        model_answer=question.manual.model_answer if question.manual else "",
        section=ctx.section,
    )


def _scoring_order(question: QuestionSpec) -> list[int]:
    """Check indices, those that read no other check's outcome first (rubric order otherwise)."""
    def reads(ci: int) -> bool:
        check = question.checks[ci]
        check_type = registry[check.type]
        return bool(check.requires) or bool(
            check_type.reads(check_type.Params.model_validate(check.params)))

    return sorted(range(len(question.checks)), key=reads)


def _outcome(label: str, verdict: Verdict, points: float) -> CheckOutcome:
    if verdict.grader_problem:
        return CheckOutcome(label, False, GRADER_PROBLEM + verdict.message, 0.0, 0.0,
                            informational=True, grader_problem=True)
    return CheckOutcome(name=label, passed=verdict.passed, message=verdict.message,
                        points=round(verdict.fraction * points, 6), max_points=points,
                        informational=points == 0, note=verdict.note)


def _verdict(ci: int, check, capture: QuestionCapture, ctx: ScoreContext) -> Verdict:
    missing = [r for r in check.requires if not ctx.outcomes.get(r, False)]
    if missing:
        return Verdict(0.0, f"not scored: it counts only when '{missing[0]}' passes "
                            "(printed output alone earns nothing)")
    if ci in capture.plan_errors:  # plan() sees only the rubric, the reference and the data
        return Verdict.grader(capture.plan_errors[ci])
    check_type = registry[check.type]
    results = capture.results.get(ci, [])
    if capture.capture_error and capture.planned.get(ci):
        return Verdict(0.0, f"could not inspect the notebook: {capture.capture_error}")
    params = check_type.Params.model_validate(check.params)
    ctx.plan_state = capture.states.get(ci, {})
    try:
        return check_type.score(params, ctx, results)
    except ReferenceError_ as exc:  # the instructor's reference raised: not the student's fault
        return Verdict.grader(str(exc))
    except Exception as exc:  # noqa: BLE001  (malformed student data must not crash grading)
        return Verdict(0.0, f"the notebook's values could not be checked: "
                            f"{type(exc).__name__}: {exc}")


def _status(question: QuestionSpec, points: float, auto_max: float, capture: QuestionCapture,
            section: SectionRecord) -> Status:
    complete = points >= auto_max - 1e-9
    if not section.executed or (capture.capture_error and not complete):
        return "error"
    if question.manual and complete:
        return "manual"
    if complete:
        return "pass"
    if points <= 1e-9:
        return "error" if section.student_errors else "fail"
    return "partial"
