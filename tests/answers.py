"""Answer cells and headings that several test modules build their notebooks from.

Import them (`from answers import H11, NUMPY_DATA_11`); pytest puts tests/ on sys.path. The
headings are the Lab 9 handout's own (submissions/src/lab9.md); the example students' answers
are read with `submissions.examples` where a test needs them.
"""

from __future__ import annotations

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
