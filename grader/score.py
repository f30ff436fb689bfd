"""Score stage: a question's check verdicts -> `QuestionResult` (status, points, sentences).

Statuses: pass (all automatic points), partial, fail (none), error (none, and the section raised or
could not be inspected: the error is the story), manual (automatic part complete, a human still has
points to award). A forbidden shortcut voids the whole question.
"""

from __future__ import annotations

from grader.capture import QuestionCapture
from grader.checks import registry
from grader.checks.base import ScoreContext, Verdict
from grader.results import CheckOutcome, QuestionResult, SectionRecord, Status
from grader.rubric import QuestionSpec


def score_question(question: QuestionSpec, capture: QuestionCapture, ctx: ScoreContext
                   ) -> QuestionResult:
    outcomes: list[CheckOutcome] = []
    voided = ""
    for ci, check in enumerate(question.checks):
        label = check.name or check.type
        verdict = _verdict(ci, check, capture, ctx)
        ctx.outcomes[label] = verdict.passed
        if verdict.voids_question:
            voided = verdict.message
        outcomes.append(CheckOutcome(
            name=label, passed=verdict.passed, message=verdict.message,
            points=round(verdict.fraction * check.points, 6), max_points=check.points,
            informational=check.points == 0,
        ))
    auto_max = sum(c.points for c in question.checks)
    points = 0.0 if voided else sum(o.points for o in outcomes)
    if voided:
        outcomes.append(CheckOutcome("question voided", False,
                                     f"0 points for the whole question: {voided}", 0.0, 0.0))
    status = _status(question, points, auto_max, capture, ctx.section)
    return QuestionResult(
        id=question.id, title=question.title, status=status, points=points,
        max_points=question.points, checks=outcomes,
        manual_points=question.manual.points if question.manual else 0.0,
        model_answer=question.manual.model_answer if question.manual else "",
        section=ctx.section,
    )


def _verdict(ci: int, check, capture: QuestionCapture, ctx: ScoreContext) -> Verdict:
    missing = [r for r in check.requires if not ctx.outcomes.get(r, False)]
    if missing:
        return Verdict(0.0, f"not scored: it counts only when '{missing[0]}' passes "
                            "(printed output alone earns nothing)")
    if ci in capture.plan_errors:
        return Verdict(0.0, capture.plan_errors[ci])
    check_type = registry[check.type]
    results = capture.results.get(ci, [])
    if capture.capture_error and capture.planned.get(ci):
        return Verdict(0.0, f"could not inspect the notebook: {capture.capture_error}")
    params = check_type.Params.model_validate(check.params)
    ctx.plan_state = capture.states.get(ci, {})
    try:
        return check_type.score(params, ctx, results)
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
        return "error" if section.errors else "fail"
    return "partial"
