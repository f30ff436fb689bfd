"""A graded Lab 9 class folder built from results in code: no kernel, no notebook executed.

`build_class(out, rubric)` writes what `grade` writes for a class (reports, gradebook with the
stored results, grades.csv, Gradescope, index.html) for four students: alice (full marks, a figure and
her written answer for 1.4, math included), bob (1.3 fails), mallory (hostile: a name and an
answer full of HTML and script), and a notebook that failed to grade. The dashboard, report and
review tests share it; `python -m tests.classroom OUT` writes one to look at.
"""

from __future__ import annotations

import base64
import struct
import sys
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

from grader.exports import write_grades_csv
from grader.handout import Handout, handout_for, keep_student_text
from grader.outputs import write_student_outputs
from grader.report.dashboard import write_dashboard
from grader.results import CheckOutcome, Figure, GradeResult, QuestionResult, SectionRecord
from grader.review.server import ReviewServer
from grader.rubric import Rubric
from grader.store import Gradebook, Provenance


class Tags(HTMLParser):
    """Every tag and attribute of a page, to look for anything a student could have injected."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


@contextmanager
def serving_review(out: Path, grader: str) -> Iterator[ReviewServer]:
    """`grade review OUT`'s server, answering in a thread until the block ends."""
    review = ReviewServer(out, grader=grader)
    thread = threading.Thread(target=review.serve_forever, daemon=True)
    thread.start()
    try:
        yield review
    finally:
        review.shutdown()
        thread.join(5)


HOSTILE_NAME = 'mallory<img src=x onerror="window.pwned=1">'
HOSTILE_ANSWER = (
    "My filters: <script>window.pwned = 1</script> and "
    '<img src=x onerror="window.pwned=1"> and [a link](javascript:window.pwned=1) and '
    '<a href="javascript:window.pwned=1">raw</a>.\n\n'
    "The weight $w_2 = \\frac{1}{2}$ is positive:\n\n$$\\sum_i w_i x_i > 0$$\n\n"
    "</textarea></script><svg onload=\"window.pwned=1\">"
)
ALICE_ANSWER = ("Filter 2 is a $[0, 1, 0]$ detector: its centre weight is $w_{1} = 1.3$ and "
                "the linear weight for it is the largest positive one.\n\n$$y = \\sigma(Wx)$$")

ENVIRONMENT = {"grader_version": "test", "rubric_sha256": "0" * 64, "packages": {"torch": "-"},
               "sandbox": "none (test)"}
DATA = {"description": "digits (test)", "fingerprint": "test"}


def tiny_png(colour: tuple[int, int, int] = (200, 30, 30), size: int = 24) -> str:
    """A small solid PNG, base64: a 'figure' the student displayed."""
    return matrix_png([[1.0]], size, colour)


def matrix_png(values: list[list[float]], cell: int = 28,
               colour: tuple[int, int, int] = (200, 30, 30)) -> str:
    """A PNG of a matrix like plot_matrix_grid draws it (positive red, negative blue), base64."""

    def shade(v: float) -> bytes:
        t = max(-1.0, min(1.0, v))
        base = colour if t >= 0 else (30, 90, 200)
        return bytes(int(255 - abs(t) * (255 - c)) for c in base)

    rows = [b"".join(shade(v) * cell for v in row) for row in values]
    width, height = cell * len(values[0]), cell * len(values)
    raw = b"".join(b"\x00" + row for row in rows for _ in range(cell))
    size = (width, height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", *size, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode()


def result_for(rubric: Rubric, student: str, failing: set[str], answer: str | list[str],
               figure: str | None) -> GradeResult:
    """A result where every question passes but `failing`, with a manual item answered."""
    questions = []
    for i, q in enumerate(rubric.questions):
        ok = q.id not in failing
        auto = q.points - (q.manual.points if q.manual else 0.0)
        cells = [i]
        code = f"# {student}'s code for {q.id}\nplot_matrix_grid(W1)  # <b>not bold</b>"
        section = SectionRecord(q.id, cells, executed=True, seconds=1.5, code=(code,),
                                markdown=(answer if isinstance(answer, list) else [answer])
                                if q.manual else [],
                                figures=[Figure(cells[0], figure)] if figure and q.manual else [])
        check = CheckOutcome(f"{q.id} works", ok, "as expected" if ok else "accuracy 0.874, "
                             "needs >= 0.90", auto if ok else 0.0, auto)
        status = ("manual" if q.manual else "pass") if ok else "fail"
        questions.append(QuestionResult(q.id, q.title, status, auto if ok else 0.0, q.points,
                                        [check], q.manual.points if q.manual else 0.0,
                                        q.manual.model_answer if q.manual else "", section))
    score = sum(q.points for q in questions)
    result = GradeResult(rubric.assignment, student, f"{student}.ipynb", "0" * 64, score,
                         sum(q.max_points for q in questions),
                         sum(q.manual_points for q in questions if q.status == "manual"),
                         questions, ENVIRONMENT, DATA, 20.0)
    return result


def handout_around(own: str, handout: Handout | None) -> list[str]:
    """A section's markdown as a student leaves it: the handout's 1.4 prompt, their own cell,
    and the next part's heading (which the section runs into)."""
    given = handout.markdown if handout else ()
    prompt = next((m for m in given if m.startswith("Visualize both the filter")), "")
    heading = next((m for m in given if m.startswith("# 2. Digit")), "")
    return [prompt, own, heading]


def as_scored(result: GradeResult, handout: Handout | None) -> GradeResult:
    """The result as the pipeline leaves it: each section's markdown the student's own only."""
    for q in result.questions:
        if q.section is not None:
            q.section = keep_student_text(q.section, handout)
    return result


def failed_result(rubric: Rubric, student: str) -> GradeResult:
    questions = [QuestionResult(q.id, q.title, "error", 0.0, q.points, [],
                                section=SectionRecord(q.id, [], not_run_reason="not JSON"))
                 for q in rubric.questions]
    return GradeResult(rubric.assignment, student, f"{student}.ipynb", "", 0.0, rubric.max_score,
                       0.0, questions, ENVIRONMENT, DATA, 0.1,
                       fatal="the notebook is not JSON <script>window.pwned=1</script>")


def build_class(out: Path, rubric: Rubric) -> Path:
    """Write the class into `out`; returns `out`."""
    handout = handout_for(rubric.handout, rubric.folder, rubric.source_path)
    graded = [
        as_scored(result_for(rubric, "alice", set(), ALICE_ANSWER,
                   matrix_png([[-0.6, 1.0, -0.5], [0.2, -0.1, 0.3], [0.9, -0.8, 0.1],
                               [-0.3, 0.4, -0.9]])), handout),
        as_scored(result_for(rubric, "bob", {"1.3"}, handout_around("I did not finish.", handout),
                             None), handout),
        as_scored(result_for(rubric, HOSTILE_NAME, {"2.2"}, HOSTILE_ANSWER, tiny_png()), handout),
        failed_result(rubric, "zed"),
    ]
    with Gradebook(out) as gradebook:
        gradebook.claim(rubric.assignment)
        for result in graded:
            gradebook.record_result(result, "0" * 64, Provenance(rubric.sha256, "", "test"))
            write_student_outputs(gradebook, out, result.student)
        write_grades_csv(gradebook, out)
        write_dashboard(gradebook, out)
    return out


if __name__ == "__main__":
    from grader.rubric import load_rubric

    print(build_class(Path(sys.argv[1]), load_rubric(Path("rubrics/lab9.yaml"))))
