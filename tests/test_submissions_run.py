"""End-to-end: every example notebook in submissions/ runs on the grader's default data, and raises
exactly in the cells it is meant to.

The notebooks are not executed again here: the result of grading each one (`graded_example`, once
per session, confined, on the default data as the README grades them) records every cell that
raised, in its question's section or, before the first question, in the notes. Slow: it needs the
examples graded (minutes), which `tests/test_submissions_grade.py` shares.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from grader.results import GradeResult
from submissions import examples

# notebook -> the cells expected to raise: (a snippet of the cell's source, the exception name).
# The only raising cell in a correct Lab 9 is the handout's own 2.1 check, which hard-codes the
# full MNIST sizes (60000/10000) and so fails on the grader's smaller data.
LAB9_SIZE_CHECK = ("assert X_trn.shape == (60000, 1, 28, 28)", "AssertionError")
EXPECTED_ERRORS: dict[str, list[tuple[str, str]]] = {
    "alice.ipynb": [LAB9_SIZE_CHECK],
    "bob.ipynb": [LAB9_SIZE_CHECK],
    "carol.ipynb": [LAB9_SIZE_CHECK],
    "dan.ipynb": [LAB9_SIZE_CHECK],
    "handout_lab9.ipynb": [
        ("W1, b1, W2, b2 = model12.parameters()", "NameError"),
        LAB9_SIZE_CHECK,
    ],
    "hw2/erin.ipynb": [],
    "hw2/handout_hw2.ipynb": [("knn = KNNClassifier(3).fit(train_X, train_y)", "IndexError")],
}


@dataclass(frozen=True)
class RaisedCell:
    index: int
    source: str
    ename: str
    evalue: str


def raised_cells(result: GradeResult) -> list[RaisedCell]:
    """The cells that raised, in notebook order, from the grade's sections."""
    found = {e.cell_index: RaisedCell(e.cell_index, e.source, e.ename, e.evalue)
             for q in result.questions if q.section for e in q.section.errors}
    return [found[i] for i in sorted(found)]


STUDENT = {e.path.relative_to(examples.HERE).as_posix(): e.student
           for e in examples.example_notebooks()}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_notebook_raises_only_where_intended(name, graded_example):
    result = graded_example(STUDENT[name])
    assert not [n for n in result.notes if "(before the first question) raised" in n], result.notes
    assert not result.fatal, result.fatal
    raised = raised_cells(result)
    expected = EXPECTED_ERRORS[name]
    described = [f"cell {c.index}: {c.ename}: {c.evalue}" for c in raised]
    assert len(raised) == len(expected), f"{name} raised in {described}, expected {expected}"
    for cell, (snippet, ename) in zip(raised, expected):
        assert snippet in cell.source, f"{name}: unexpected raising cell {cell.index}: {described}"
        assert cell.ename == ename, f"{name}: cell {cell.index} raised {cell.ename}: {cell.evalue}"
