"""Answer cells, headings and a rubric that several test modules build their notebooks from.

Import them (`from answers import H11, NUMPY_DATA_11`); pytest puts tests/ on sys.path. The
headings are the Lab 9 handout's own (submissions/src/lab9.md); the example students' answers
are read with `submissions.examples` where a test needs them.
"""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from submissions import examples


def lab9_heading(name: str) -> tuple[str, str]:
    """The markdown cell of a Lab 9 heading, e.g. "ex11": "## Exercise 1.1 – Build a ..."."""
    return ("md", examples.given("lab9", name))


H11, H12, H13, H14, H21, H22 = (lab9_heading(n) for n in ("ex11", "ex12", "ex13", "ex14", "ex21",
                                                            "ex22"))

CORRECT_LABEL_11 = "float(size == 1 and value == 1)"


def numpy_data_11(seed: int = 0, label: str = CORRECT_LABEL_11) -> str:
    """Lab 9's 1.1 (the synthetic data set) in plain numpy: no torch import, so a kernel running
    it starts in about a second. Correct with the defaults; `seed` and `label` (the expression
    assigned to y[i]) vary it."""
    return f"""\
import numpy as np
np.random.seed({seed})
N, C, W = 75, 1, 20
X = np.zeros((N, C, W), dtype=np.float32)
y = np.zeros((N, 1), dtype=np.float32)
for i in range(N):
    size = np.random.randint(1, 3)
    start = np.random.randint(0, W - size)
    value = np.random.choice([-1, -0.5, 0.5, 1])
    X[i, 0, start:start + size] = value
    y[i] = {label}
"""


NUMPY_DATA_11 = numpy_data_11()  # the correct answer to 1.1, seed 0


# Lab 9 cut to exercise 1.1, with its points and X's artifact name as parameters: a class of
# tiny notebooks grades against it in about a second each.
RUBRIC_1_1 = """\
assignment: lab9
title: "Lab 9, exercise 1.1 only"
reference: lab9
data:
  layouts: [npz]
execution:
  cell_timeout: 30
  notebook_timeout: 60
  startup_timeout: 60
  probe_timeout: 60
limits:
  threads: 1
questions:
  - id: "1.1"
    title: Build a synthetic 1D data set
    heading: "Exercise 1.1"
    points: {total}
    checks:
      - type: value_matches
        name: X equals the seeded data set
        points: {x_points}
        artifact: {x_artifact}
        expected: [{{fn: synthetic_data, index: 0}}]
        atol: 0
        rtol: 0
      - type: value_matches
        name: y equals the seeded targets
        points: 2
        artifact: y
        expected: [{{fn: synthetic_data, index: 1}}]
        atol: 0
        rtol: 0
      - type: predicate
        name: shape and labelling rule
        points: 4
        artifacts: [X, y]
        fn: synthetic_rule_violations
        success: "have shapes (75, 1, 20) / (75, 1) and y = 1 exactly when a row has a single +1 pixel"
"""


def rubric_1_1(x_points: int = 4, x_artifact: str = "X") -> str:
    return RUBRIC_1_1.format(total=x_points + 6, x_points=x_points, x_artifact=x_artifact)


def lab9_notebook(*cells: str) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_markdown_cell(H11[1]), *(new_code_cell(c) for c in cells)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


