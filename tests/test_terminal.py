"""What `grade` prints: the live status line, tables that fit the terminal, --quiet (no kernel)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from answers import H11, NUMPY_DATA_11
from conftest import rubric_with
from rich.console import Console

from grader.batch.live import Display, clock_text
from grader.batch.progress import BatchSummary, StudentLine, print_run, print_student, print_summary
from grader.options import GradeOptions
from grader.results import CellProgress
from grader.store import QuestionRow, SubmissionRow

LONG = "x" * 300


def console(width: int, terminal: bool = False) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=width, force_terminal=terminal, color_system=None,
                   legacy_windows=False), buffer


def widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def class_summary() -> BatchSummary:
    summary = BatchSummary("lab9", Path("/very/long/output/folder/for/the/class/of/2026/lab9"))
    summary.lines = [
        StudentLine("alice", "graded", "executed", 92.0, 100.0, 24.7),
        StudentLine("bartholomew-with-a-very-long-student-identifier-from-the-lms", "failed",
                    "executed", None, 100.0, 3.2, "the notebook is not JSON: " + LONG),
        StudentLine("[bold red]markup[/]", "graded", "skipped", 50.0, 100.0, 31.0,
                    "note with\nnewlines " + LONG, [("1.3", "reference raised " + LONG)]),
    ]
    summary.wall_seconds = 60.0
    return summary


def question(qid: str, status: str, message: str) -> QuestionRow:
    return QuestionRow("alice", qid, 0, "t", status, 0.0, 10.0, 0.0,
                       [{"message": message, "passed": False, "max_points": 4.0}], [], 1.0, True,
                       "", "")


def submission() -> SubmissionRow:
    return SubmissionRow("alice-" + "y" * 80, "lab9", "a.ipynb", "", "", "", "", {}, 42.0, 100.0,
                         8.0, "graded", "", False, 1.0, "2026-11-30T21:00:00", "", "")


@pytest.mark.parametrize("width", [80, 200])
def test_class_table_of_long_names_and_notes_fits_the_terminal(width: int) -> None:
    out, buffer = console(width)
    print_summary(class_summary(), out)
    text = buffer.getvalue()
    assert widest(text) <= width
    assert "alice" in text and "92/100" in text
    assert "[bold red]markup[/]" in text  # a student's name is text, never markup


@pytest.mark.parametrize("width", [80, 200])
def test_one_students_table_with_a_long_first_problem_fits_the_terminal(width: int) -> None:
    out, buffer = console(width)
    print_student(submission(), [question("1.1", "fail", "accuracy 0.874 " + LONG),
                                 question("2.2", "pass", "")], "executed", out)
    text = buffer.getvalue()
    assert widest(text) <= width
    assert "1.1" in text and "2.2" in text and "accuracy 0.874" in text
    assert len([line for line in text.splitlines() if "1.1" in line]) == 1  # one row, one line


@pytest.mark.parametrize("width", [80, 200])
def test_status_line_says_question_and_cell_and_fits(width: int) -> None:
    out, _ = console(width, terminal=True)
    display = Display(1, out)
    display.started("alice")
    display.cell(CellProgress("alice", "1.3", 20, 14, 41))
    assert display.progress is not None
    render, buffer = console(width)
    render.print(display.progress.get_renderable())
    line = buffer.getvalue()
    assert "alice · 1.3 · cell 14/41" in line
    assert widest(line) <= width


def test_batch_eta_counts_down_between_completions() -> None:
    now = [0.0]
    out, _ = console(120, terminal=True)
    display = Display(4, out, workers=2, clock=lambda: now[0])
    assert display.eta_seconds() is None  # nothing finished: no estimate yet
    display.started("a")
    display.started("b")
    now[0] = 10.0
    display.finished(StudentLine("a", "graded", "executed", 1.0, 1.0, 10.0))
    display.started("c")
    first = display.eta_seconds()
    now[0] = 13.0
    later = display.eta_seconds()
    assert first is not None and later is not None and later < first
    assert clock_text(later) != clock_text(first)


def test_not_a_terminal_prints_occasional_plain_lines() -> None:
    now = [0.0]
    out, buffer = console(80)
    display = Display(1, out, clock=lambda: now[0])
    display.started("alice")
    for cell in range(10):  # same question, within a few seconds: one line
        now[0] += 0.5
        display.cell(CellProgress("alice", "1.1", cell, cell + 1, 41))
    display.cell(CellProgress("alice", "1.2", 12, 11, 41))  # a new question: a line
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 2 and "1.2 · cell 11/41" in lines[1]
    assert "\x1b" not in buffer.getvalue()


def test_quiet_prints_nothing_while_running_and_only_the_summary_at_the_end() -> None:
    out, buffer = console(80, terminal=True)
    summary = class_summary()
    with Display(3, out, quiet=True) as display:
        display.started("alice")
        display.cell(CellProgress("alice", "1.1", 1, 1, 5))
        for line in summary.lines:
            display.finished(line)
    assert buffer.getvalue() == ""
    print_run(summary, GradeOptions(paths=(Path("class"),), quiet=True), out)
    text = buffer.getvalue().splitlines()
    assert text[0].startswith("3 submissions: 1 graded, 1 failed to grade")
    assert "failed to grade: the notebook is not JSON" in " ".join(" ".join(text).split())
    assert not any("alice" in line for line in text)  # no table


def test_off_a_terminal_each_finished_line_gives_the_eta_of_the_rest() -> None:
    now = [0.0]
    out, buffer = console(200)
    display = Display(3, out, workers=1, clock=lambda: now[0])
    display.started("a")
    now[0] = 30.0
    display.finished(StudentLine("a", "graded", "executed", 1.0, 1.0, 30.0))
    display.started("b")
    now[0] = 40.0
    display.finished(StudentLine("b", "graded", "executed", 1.0, 1.0, 10.0))
    display.started("c")
    now[0] = 45.0
    display.finished(StudentLine("c", "graded", "executed", 1.0, 1.0, 5.0))
    lines = buffer.getvalue().splitlines()
    assert lines[0].endswith("· ETA 1:00")  # two left, 30 s each
    assert lines[1].endswith("· ETA 0:20")  # one left, mean 20 s
    assert "ETA" not in lines[2]  # the last: nothing left


@pytest.mark.kernel
def test_a_notebook_graded_here_tells_each_cell_before_it_runs(grade, make_notebook, lab9_rubric,
                                                               small_data) -> None:
    seen: list[CellProgress] = []
    path = make_notebook([("code", "import numpy as np"), H11, ("code", NUMPY_DATA_11),
                          ("md", "notes"), ("code", "   "), ("code", "y = X.sum()")], "ana")
    grade(path, rubric_with(lab9_rubric, ["1.1"]), small_data, on_progress=seen.append)
    assert [(p.student, p.question_id, p.done, p.total) for p in seen] == [
        ("ana", "", 1, 3), ("ana", "1.1", 2, 3), ("ana", "1.1", 3, 3)]  # blank cells not counted
