"""End-to-end: every example notebook in submissions/ runs on the grader's default data, and raises
exactly in the cells it is meant to.

Each notebook is executed with nbclient (allow_errors=True, 600 s per cell) in a fresh directory
provisioned by `grader.data.provision` with the default small bundle, the way the grader runs
student work. Slow (minutes): deselected by default, run with `pytest -m slow`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from grader.data import load_data, provision

SUBMISSIONS = Path(__file__).resolve().parent.parent / "submissions"
CELL_TIMEOUT = 600

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


def run_notebook(path: Path, workdir: Path) -> tuple[nbformat.NotebookNode, float]:
    """Execute `path` in `workdir` (errors recorded, not raised); return it and the wall time."""
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def raised_cells(nb: nbformat.NotebookNode) -> list[RaisedCell]:
    return [
        RaisedCell(index, cell.source, output.ename, output.evalue)
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]


@pytest.fixture(scope="module")
def bundle():
    return load_data(None)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_notebook_raises_only_where_intended(name, bundle, tmp_path, record_property):
    provision(bundle, tmp_path, ["npz", "torchvision"])
    nb, seconds = run_notebook(SUBMISSIONS / name, tmp_path)
    record_property("wall_seconds", round(seconds, 1))
    print(f"{name}: executed in {seconds:.1f} s")

    raised = raised_cells(nb)
    expected = EXPECTED_ERRORS[name]
    described = [f"cell {c.index}: {c.ename}: {c.evalue}" for c in raised]
    assert len(raised) == len(expected), f"{name} raised in {described}, expected {expected}"
    for cell, (snippet, ename) in zip(raised, expected):
        assert snippet in cell.source, f"{name}: unexpected raising cell {cell.index}: {described}"
        assert cell.ename == ename, f"{name}: cell {cell.index} raised {cell.ename}: {cell.evalue}"
