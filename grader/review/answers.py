"""What a reviewer needs of one student: an `Execution` -> `<out>/review/<student>.json`.

Written at grading time (by batch/record.py) for each question with a manual part: the student's
own markdown of that section (the handout's prompts and headings left out, grader/handout.py),
the code of its cells, the figures it displayed (PNG, base64) and the rubric's instructions, model
answer and manual points, so that `grade review OUT` needs nothing but OUT. Plain JSON, size-capped;
nothing in it is trusted: the review page escapes or sanitises all of it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from grader.handout import Handout
from grader.report import atomic_write, safe_name
from grader.results import GradeResult
from grader.rubric import Rubric

REVIEW_DIR = "review"
MAX_FIGURES = 8
MAX_FIGURE_CHARS = 2_000_000  # base64 characters of one PNG
MAX_TEXT_CHARS = 20_000  # one markdown or code cell


@dataclass(frozen=True)
class ReviewItem:
    """One question's manual part as the reviewer sees it for one student."""

    question_id: str
    title: str
    points: float  # the manual part's maximum
    instructions: str
    model_answer: str
    status: str  # the automatic part's status
    auto_points: float = 0.0
    max_points: float = 0.0  # the whole question's points (an override's range)
    markdown: list[str] = field(default_factory=list)  # the student's own writing
    code: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # PNG, base64


@dataclass(frozen=True)
class StudentAnswers:
    student: str
    assignment: str
    items: list[ReviewItem]


def answers_from(result: GradeResult, sources: list[str], rubric: Rubric,
                 handout: Handout | None) -> StudentAnswers:
    """The manual items of one graded notebook (`sources`: its cells' code, by position)."""
    items: list[ReviewItem] = []
    if result.fatal:  # nothing ran: nothing to review
        return StudentAnswers(result.student, result.assignment, items)
    by_id = {q.id: q for q in result.questions}
    for question in rubric.questions:
        graded = by_id.get(question.id)
        if question.manual is None or graded is None:
            continue
        section = graded.section
        markdown = list(section.markdown) if section else []
        if handout is not None:
            markdown = handout.student_text(markdown)
        code = [sources[i][:MAX_TEXT_CHARS] for i in (section.cell_indices if section else [])
                if i < len(sources) and sources[i].strip()]
        figures = [f.png_base64 for f in (section.figures if section else [])
                   if len(f.png_base64) <= MAX_FIGURE_CHARS][:MAX_FIGURES]
        items.append(ReviewItem(
            question.id, question.title, question.manual.points, question.manual.instructions,
            question.manual.model_answer, graded.status, graded.points, graded.max_points,
            [m[:MAX_TEXT_CHARS] for m in markdown], code, figures))
    return StudentAnswers(result.student, result.assignment, items)


def answers_path(out_dir: Path, student: str) -> Path:
    return out_dir / REVIEW_DIR / f"{safe_name(student)}.json"


def write_answers(out_dir: Path, answers: StudentAnswers) -> Path | None:
    """Write them; None when there is nothing to review (an earlier file is removed: a notebook
    that now fails to grade has no answers to show)."""
    path = answers_path(out_dir, answers.student)
    if not answers.items:
        path.unlink(missing_ok=True)
        return None
    atomic_write(path, json.dumps(asdict(answers)))
    return path


def read_answers(out_dir: Path, student: str) -> StudentAnswers | None:
    """A student's stored answers, or None when there are none (or they are unreadable)."""
    try:
        data = json.loads(answers_path(out_dir, student).read_text(encoding="utf-8"))
        known = {f.name for f in fields(ReviewItem)}  # a field of another version is left out
        items = [ReviewItem(**{k: v for k, v in item.items() if k in known})
                 for item in data["items"]]
        return StudentAnswers(str(data["student"]), str(data["assignment"]), items)
    except (OSError, ValueError, KeyError, TypeError):
        return None
