"""What a reviewer needs of one student: the stored result -> the manual items to show.

`review_items(result)` takes a `GradeResult` as the gradebook stores it (grader/outputs.py
`stored_result`: sections, figures and code included, nothing re-executed) and returns, for each
question with a manual part, the student's own markdown of that section (the handout's prompts
and headings were left out when it was scored, grader/handout.py `keep_student_text`), the code of
its cells, the figures it displayed (PNG, base64) and the rubric's instructions, model answer and
manual points. Nothing in it is trusted: the review page escapes or sanitises all of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.results import GradeResult

MAX_FIGURES = 8
MAX_FIGURE_CHARS = 2_000_000  # base64 characters of one PNG


@dataclass(frozen=True)
class ReviewItem:
    """One question's manual part as the reviewer sees it for one student."""

    question_id: str
    title: str
    points: float  # the manual part's maximum
    instructions: str
    model_answer: str
    status: str  # the automatic part's status
    auto_points: float
    max_points: float  # the whole question's points (an override's range)
    markdown: list[str] = field(default_factory=list)  # the student's own writing
    code: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # PNG, base64


def review_items(result: GradeResult) -> list[ReviewItem]:
    """The manual items of one graded result (none when it failed to grade)."""
    if result.fatal:  # nothing ran: nothing to review
        return []
    items = []
    for q in result.questions:
        if not q.manual_points:
            continue
        section = q.section
        figures = [f.png_base64 for f in (section.figures if section else [])
                   if len(f.png_base64) <= MAX_FIGURE_CHARS][:MAX_FIGURES]
        items.append(ReviewItem(
            q.id, q.title, q.manual_points, q.manual_instructions, q.model_answer, q.status,
            q.points, q.max_points, list(section.markdown) if section else [],
            list(section.code) if section else [], figures))
    return items
