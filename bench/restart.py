"""What a kernel death costs: grade one notebook (Lab 9's 1.1, 1.2, 1.4 sections, numpy only) with and
without a cell that kills its kernel in 1.2, confined, and print both times and the notes.

    .venv/bin/python bench/restart.py            # 3 rounds each
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from answers import H11, H12, H14, NUMPY_DATA_11
from conftest import build_notebook, rubric_with

from grader.data import load_data
from grader.pipeline import GradeConfig, grade_notebook
from grader.rubric import load_rubric

CELLS = [H11, ("code", NUMPY_DATA_11), H12, ("code", "print('1.2')"), H14,
         ("code", "print('1.4', X.shape)")]
CRASH = ("code", "import os\nos._exit(1)")


def timed(path: Path, config: GradeConfig) -> tuple[float, list[str]]:
    start = time.perf_counter()
    result = grade_notebook(path, config)
    return time.perf_counter() - start, result.notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    rubric = rubric_with(load_rubric(REPO / "rubrics" / "lab9.yaml"), ["1.1", "1.2", "1.4"])
    with tempfile.TemporaryDirectory() as tmp:
        config = GradeConfig(rubric=rubric, data=load_data(None, train_limit=100),
                             cache_dir=Path(tmp) / "cache", confine=True)
        plain, crashing = Path(tmp) / "plain.ipynb", Path(tmp) / "crash.ipynb"
        import nbformat

        nbformat.write(build_notebook(CELLS), str(plain))
        nbformat.write(build_notebook([*CELLS[:3], CRASH, *CELLS[3:]]), str(crashing))
        timed(plain, config)  # warm-up: font cache, reference values
        times = {"no death": [], "death in 1.2 + restart": []}
        notes: list[str] = []
        for _ in range(rounds):
            times["no death"].append(timed(plain, config)[0])
            seconds, notes = timed(crashing, config)
            times["death in 1.2 + restart"].append(seconds)
    for name, values in times.items():
        print(f"{name:>24}: median {statistics.median(values):.2f} s over {rounds} "
              f"({', '.join(f'{v:.2f}' for v in values)})")
    print("notes:", *notes, sep="\n  ")


if __name__ == "__main__":
    main()
