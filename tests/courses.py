"""The ridge regression assignment (tests/fixtures/ridge/), a course folder of its own, for tests.

Import what a test needs (`from courses import copy_ridge, RIDGE_TEXT, solution_cells`); pytest puts
tests/ on sys.path. The folder is copied before a test changes anything in it, so that it lives, as
a course's would, outside the grader's rubrics/ and reference/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

RIDGE = Path(__file__).resolve().parent / "fixtures" / "ridge"
RIDGE_TEXT = (RIDGE / "rubric.yaml").read_text(encoding="utf-8")
REFERENCE_TEXT = (RIDGE / "reference.py").read_text(encoding="utf-8")


def copy_ridge(dest: Path) -> Path:
    """A copy of the course folder at `dest`; returns its rubric's path."""
    shutil.copytree(RIDGE, dest)
    return dest / "rubric.yaml"


def edited(text: str, old: str, new: str) -> str:
    """`text` with the one occurrence of `old` replaced (a test that edits nothing is a bug)."""
    if text.count(old) != 1:
        raise ValueError(f"{old!r} occurs {text.count(old)} times, not once")
    return text.replace(old, new)


def ridge_notebook(*edits: tuple[str, str]) -> nbformat.NotebookNode:
    """The solution notebook, with (old, new) replacements in its code cells (a student's
    mistakes); each edit must change exactly one place."""
    nb = nbformat.read(str(RIDGE / "solution.ipynb"), as_version=4)
    for old, new in edits:
        cells = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
        if len(cells) != 1:
            raise ValueError(f"{old!r} is in {len(cells)} code cells of the solution, not one")
        cells[0].source = edited(cells[0].source, old, new)
    return nb


# Two students' slips, and what each costs (question id -> points lost), for the grading tests.
SAMPLE_STD = ("sigma = X_train.std(axis=0)", "sigma = X_train.std(axis=0, ddof=1)")  # 1: -4
WRONG_LAMBDA = ("w = ridge_fit(Z_train, y_train - y_mean, 1.0)",
                "w = ridge_fit(Z_train, y_train - y_mean, 10.0)")  # 2: -2
