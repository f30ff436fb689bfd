"""The review page: one student's answer to one question's manual part -> HTML.

`ReviewIndex(out)` knows which students have which manual items (from the results the gradebook
stores, grader/review/answers.py); `render_review(...)` renders `templates/review.html.j2` for one
(question, student): the student's own markdown (grader/report/markup.py: no raw HTML, math as
MathML), their figures as data: URIs, their code as text, the rubric's instructions and model
answer, the points and comment form, and who graded it when. Navigation links carry the token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from grader.manual import open_gradebook
from grader.outputs import stored_result
from grader.report import render_template
from grader.report.markup import render_markdown
from grader.review.answers import ReviewItem, review_items

BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


@dataclass(frozen=True)
class Question:
    question_id: str
    title: str
    points: float


class ReviewIndex:
    """The class's manual items: questions in rubric order, students in gradebook order, read
    from the results the gradebook stores (ValueError when OUT holds no gradebook)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.questions: list[Question] = []
        self.students: dict[str, list[str]] = {}  # question id -> students with that item
        self.assignment = ""
        with open_gradebook(out) as gradebook:
            for sub in gradebook.submissions():
                result = stored_result(gradebook, sub.student)
                if result is None:  # failed to grade, or graded before results were stored
                    continue
                self.assignment = result.assignment
                for item in review_items(result):
                    if item.question_id not in self.students:
                        self.questions.append(Question(item.question_id, item.title,
                                                       item.points))
                    self.students.setdefault(item.question_id, []).append(sub.student)

    def question(self, question_id: str | None) -> Question | None:
        return next((q for q in self.questions if q.question_id == question_id),
                    self.questions[0] if self.questions and question_id is None else None)

    def item(self, student: str, question_id: str) -> ReviewItem | None:
        with open_gradebook(self.out) as gradebook:
            result = stored_result(gradebook, student)
        items = review_items(result) if result is not None else []
        return next((i for i in items if i.question_id == question_id), None)


def link(token: str, question: str, student: str) -> str:
    return "/review?" + urlencode({"token": token, "q": question, "s": student})


def render_review(index: ReviewIndex, question: Question, student: str, token: str,
                  nonce: str, grades: dict, history: list, override: object = None,
                  message: str = "", error: str = "") -> str:
    """The page for one student's answer to `question` (`grades`: (student, question) -> the
    standing ManualGrade; `history`: this item's grades, latest first; `override`: the standing
    Override of the whole question, if any)."""
    item = index.item(student, question.question_id)
    assert item is not None
    students = index.students[question.question_id]
    at = students.index(student)
    questions = [q.question_id for q in index.questions]
    qat = questions.index(question.question_id)

    def first_of(qid: str) -> str:
        return link(token, qid, index.students[qid][0])

    nav = {
        "next": link(token, question.question_id, students[(at + 1) % len(students)]),
        "prev": link(token, question.question_id, students[at - 1]),
        "next_q": first_of(questions[(qat + 1) % len(questions)]),
        "prev_q": first_of(questions[qat - 1]),
    }
    roster = [{"student": s, "href": link(token, question.question_id, s),
               "grade": grades.get((s, question.question_id)), "current": s == student}
              for s in students]
    standing = grades.get((student, question.question_id))
    return render_template(
        "review.html.j2", assignment=index.assignment, question=question, item=item,
        student=student, position=at + 1, total=len(students), nav=nav, roster=roster,
        questions=[{"q": q, "href": first_of(q.question_id), "current": q == question,
                    "done": sum((s, q.question_id) in grades for s in index.students[
                        q.question_id]), "total": len(index.students[q.question_id])}
                   for q in index.questions],
        answer_html=[render_markdown(m) for m in item.markdown],
        instructions_html=render_markdown(item.instructions),
        model_answer_html=render_markdown(item.model_answer),
        figures=[f for f in item.figures if BASE64.match(f)], standing=standing,
        history=history, override=override, token=token, nonce=nonce, message=message,
        error=error)
