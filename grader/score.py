"""Score stage: a question's check verdicts -> `QuestionResult` (status, points, sentences).

Statuses: pass (all automatic points), partial, fail (none), error (none, and the section raised or
could not be inspected: the error is the story), manual (automatic part complete, a human still has
points to award), grader_error (a check could not be scored for a reason on the instructor's side:
the question is left out of the score and the maximum, and the run says so). A forbidden shortcut
voids the whole question.

An instructor-side reason is: a check the grader could not prepare (plan errors: the rubric's
arguments, a reference function that raised while computing the inputs or the expected values), a
`ReferenceError_` out of a check's scoring, or a reference call that raised while scoring and is
recorded in `Reference.failures`: any call with the rubric's arguments only, and a call with the
student's values that raised anything but `ValueError` / `TypeError`, the exceptions with which a
reference function rejects a student's values (then the student's check fails, with its sentence).
A verdict the check itself marks as the grader's (`Verdict.grader`: e.g. a grader input outside
the assignment's stated domain) counts as instructor-side too. A structural difference that changes
nothing is full marks with a note (`Verdict.noted`). Checks that read other checks' outcomes
(`CheckType.reads`, `requires`) are scored after them; outcomes are listed in the rubric's order.
"""

from __future__ import annotations

from collections.abc import Sequence

from grader.capture import QuestionCapture
from grader.checks import registry
from grader.checks.base import ScoreContext, Verdict
from grader.expected import ReferenceError_
from grader.results import (
    GRADER_ERROR,
    GRADER_PROBLEM,
    CheckOutcome,
    QuestionResult,
    SectionRecord,
    Status,
)
from grader.rubric import CheckSpec, QuestionSpec
from grader.secret import instructor_text, student_text


def score_question(question: QuestionSpec, capture: QuestionCapture, ctx: ScoreContext
                   ) -> QuestionResult:
    scored: dict[int, CheckOutcome] = {}
    voided = ""
    for ci in _scoring_order(question):
        check = question.checks[ci]
        label = check.name or check.type
        verdict, grader_problem = _verdict(ci, check, capture, ctx)
        ctx.outcomes[label] = verdict.passed
        if verdict.voids_question:
            voided = verdict.message
        scored[ci] = _outcome(label, verdict, check, grader_problem)
    outcomes = [scored[ci] for ci in range(len(question.checks))]
    auto_max = sum(c.points for c in question.checks)
    not_counted = any(o.grader_problem for o in outcomes)
    points = 0.0 if voided or not_counted else sum(o.points for o in outcomes)
    if voided:
        outcomes.append(CheckOutcome("question voided", False,
                                     f"0 points for the whole question: {instructor_text(voided)}",
                                     0.0, 0.0, student_message="0 points for the whole question: "
                                     + student_text(voided)))
    status = GRADER_ERROR if not_counted else _status(question, points, auto_max, capture,
                                                      ctx.section)
    return QuestionResult(
        id=question.id, title=question.title, status=status, points=points,
        max_points=question.points, checks=outcomes,
        manual_points=question.manual.points if question.manual else 0.0,
        model_answer=question.manual.model_answer if question.manual else "",
        section=ctx.section,
        manual_instructions=question.manual.instructions if question.manual else "",
    )


def _scoring_order(question: QuestionSpec) -> list[int]:
    """Check indices, those that read no other check's outcome first (rubric order otherwise)."""
    def reads(ci: int) -> bool:
        check = question.checks[ci]
        check_type = registry[check.type]
        return bool(check.requires) or bool(
            check_type.reads(check_type.Params.model_validate(check.params)))

    return sorted(range(len(question.checks)), key=reads)


STUDENT_GRADER_PROBLEM = ("the grader could not check this (its problem, not yours): not "
                          "counted until the instructor fixes it")


def _outcome(label: str, verdict: Verdict, check: CheckSpec, grader_problem: bool
             ) -> CheckOutcome:
    """The verdict in both forms: the instructor's sentence, and the student's without the
    secret spans (reference values) and paths (grader/secret.py)."""
    points = check.points
    return CheckOutcome(name=label, passed=verdict.passed,
                        message=instructor_text(verdict.message),
                        points=round(verdict.fraction * points, 6), max_points=points,
                        informational=points == 0, note=verdict.note,
                        grader_problem=grader_problem,
                        student_message=(STUDENT_GRADER_PROBLEM if grader_problem
                                         else student_text(verdict.message)),
                        visibility=check.visibility, hint=check.hint)


def score_totals(questions: Sequence[QuestionResult]) -> tuple[float, float]:
    """(score, maximum) over the questions that count: grader problems are left out of both."""
    counted = [q for q in questions if q.status != GRADER_ERROR]
    return sum(q.points for q in counted), sum(q.max_points for q in counted)


def _verdict(ci: int, check: CheckSpec, capture: QuestionCapture, ctx: ScoreContext
             ) -> tuple[Verdict, bool]:
    """The check's verdict, and whether it failed for an instructor-side reason."""
    missing = [r for r in check.requires if not ctx.outcomes.get(r, False)]
    if missing:
        return Verdict(0.0, f"not scored: it counts only when '{missing[0]}' passes "
                            "(printed output alone earns nothing)"), False
    if ci in capture.plan_errors:
        return Verdict.fail(GRADER_PROBLEM + capture.plan_errors[ci]), True
    check_type = registry[check.type]
    results = capture.results.get(ci, [])
    if capture.capture_error and capture.planned.get(ci):
        return Verdict(0.0, f"could not inspect the notebook: {capture.capture_error}"), False
    params = check_type.Params.model_validate(check.params)
    ctx.plan_state = capture.states.get(ci, {})
    failures = len(ctx.reference.failures)
    try:
        verdict = check_type.score(params, ctx, results)
    except ReferenceError_ as exc:
        return Verdict.fail(GRADER_PROBLEM + str(exc)), True
    except Exception as exc:  # noqa: BLE001  (malformed student data must not crash grading)
        return Verdict(0.0, f"the notebook's values could not be checked: "
                            f"{type(exc).__name__}: {exc}"), False
    if verdict.grader_problem:  # e.g. the grader's input was outside the assignment's domain
        return Verdict.fail(GRADER_PROBLEM + verdict.message), True
    if not verdict.passed and len(ctx.reference.failures) > failures:
        return Verdict.fail(GRADER_PROBLEM + ctx.reference.failures[failures]), True
    return verdict, False


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
