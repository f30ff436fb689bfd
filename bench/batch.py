"""Benchmark: grade a class of Lab 9 notebooks with 1 worker, 2 workers, then a cached re-run.

The class (in a temporary folder) is the Lab 9 examples of submissions/ plus broken and hostile
notebooks written here: one that is not JSON, an empty file, one whose kernel dies (`os._exit`)
in 1.2, and one that loops forever in 1.3 (stopped by a short --cell-timeout). A warm-up run of
alice alone fills the reference cache first, so the timed runs measure grading, not calibration.

    .venv/bin/python bench/batch.py                        # confined kernels, as `grade` runs
    .venv/bin/python bench/batch.py --unsafe-no-sandbox    # unconfined
    .venv/bin/python bench/batch.py --dask                 # also time --dask local

Prints the wall time of each run, what it did, and whether 1 and 2 workers agreed; then, per
example notebook, plain nbclient execution of it (a fresh Python, one after the other) against the
seconds its grading took inside the 2-worker batch (its result's `seconds`: from the task's start,
in a kernel started ahead while the worker's previous notebook ran), with the load average.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ENV, grade_cmd, load, plain_nbclient

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = ("alice", "bob", "carol", "dan", "handout_lab9")
VARYING = {"graded_at", "executed_at", "seconds", "worker", "environment"}


def with_cell_after(source: Path, heading: str, code: str) -> nbformat.NotebookNode:
    """The notebook at `source` with a code cell inserted right after the cell naming `heading`."""
    nb = nbformat.read(source, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and heading in c.source)
    nb.cells.insert(at + 1, new_code_cell(code))
    return nb


def build_class(folder: Path) -> list[str]:
    folder.mkdir(parents=True)
    for name in EXAMPLES:
        shutil.copy(REPO / "submissions" / f"{name}.ipynb", folder / f"{name}.ipynb")
    (folder / "notjson.ipynb").write_text("{ this is not a notebook")
    (folder / "empty.ipynb").write_text("")
    alice = REPO / "submissions" / "alice.ipynb"
    nbformat.write(with_cell_after(alice, "Exercise 1.2", "import os\nos._exit(1)"),
                   folder / "crash.ipynb")
    nbformat.write(with_cell_after(alice, "Exercise 1.3", "while True:\n    pass"),
                   folder / "loop.ipynb")
    return sorted(p.stem for p in folder.glob("*.ipynb"))


def grade(args: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    run = subprocess.run(grade_cmd(*args), capture_output=True, text=True, check=False,
                         cwd=REPO, env=ENV)
    return time.perf_counter() - start, run


def headline(run: subprocess.CompletedProcess) -> str:
    lines = [x for x in run.stdout.splitlines() if " submissions: " in x]
    return lines[-1] if lines else (run.stderr.strip().splitlines() or ["?"])[-1]


def gradebook(out: Path) -> dict[str, dict]:
    with sqlite3.connect(out / "gradebook.sqlite") as conn:
        conn.row_factory = sqlite3.Row
        subs = {r["student"]: {k: r[k] for k in r.keys() if k not in VARYING}  # noqa: SIM118
                for r in conn.execute("SELECT * FROM submissions")}
        for r in conn.execute("SELECT * FROM questions"):
            subs[r["student"]][r["question_id"]] = (r["status"], r["points"], r["messages"])
    return subs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run the notebooks unconfined (default: confined)")
    parser.add_argument("--dask", action="store_true", help="also time --dask local")
    parser.add_argument("--cell-timeout", type=float, default=10.0)
    parser.add_argument("--keep", type=Path, help="build and grade here instead of a temp dir")
    parser.add_argument("--no-warm", action="store_true", help="pass --no-warm to grade")
    opts = parser.parse_args()
    root = opts.keep or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    students = build_class(root / "class")
    common = ["--rubric", str(REPO / "rubrics" / "lab9.yaml"), "--cache", str(root / "refcache"),
              "--cell-timeout", str(opts.cell_timeout)]
    if opts.unsafe_no_sandbox:
        common.append("--unsafe-no-sandbox")
    if opts.no_warm:
        common.append("--no-warm")
    print(f"{len(students)} notebooks in {root / 'class'}: {', '.join(students)}")

    runs: list[tuple[str, float, str, int]] = []
    seconds, run = grade([str(root / "class" / "alice.ipynb"), "--out", str(root / "warm"),
                          "--workers", "1", *common])
    runs.append(("warm-up: alice alone (fills the reference cache)", seconds, headline(run),
                 run.returncode))
    plan = [
        ("1 worker", root / "out1", ["--workers", "1"]),
        ("2 workers", root / "out2", ["--workers", "2"]),
        ("2 workers, re-run (everything cached)", root / "out2", ["--workers", "2"]),
        ("--rescore (from cached executions)", root / "out2", ["--rescore"]),
    ]
    if opts.dask:
        plan.append(("--dask local, 2 workers", root / "out3", ["--dask", "local",
                                                                "--workers", "2"]))
    for label, out, extra in plan:
        seconds, run = grade([str(root / "class"), "--out", str(out), *extra, *common])
        runs.append((label, seconds, headline(run), run.returncode))
        print(f"{label:45s} {seconds:7.1f} s  exit {run.returncode}  {headline(run)}  "
              f"(load {load()})", flush=True)

    print("\nrun                                              wall (s)  exit")
    for label, seconds, _, code in runs:
        print(f"{label:48s} {seconds:8.1f}  {code}")
    same = gradebook(root / "out1") == gradebook(root / "out2")
    print(f"\n1 and 2 workers gave identical gradebooks: {same}")
    if opts.dask:
        print(f"--dask local gave the same gradebook: "
              f"{gradebook(root / 'out3') == gradebook(root / 'out2')}")
    print("\nper student (2 workers):")
    for student, row in sorted(gradebook(root / "out2").items()):
        score = "-" if row["score"] is None else f"{row['score']:g}/{row['max_score']:g}"
        print(f"  {student:14s} {row['status']:7s} {score:>8s}  {row['reason'][:90]}")
    print("\nper notebook: plain nbclient (one after the other) vs its grading in the 2-worker "
          "batch:")
    plain = plain_nbclient([REPO / "submissions" / f"{name}.ipynb" for name in EXAMPLES], None,
                           REPO / "rubrics" / "lab9.yaml")
    for name, p in zip(EXAMPLES, plain):
        graded = json.loads((root / "out2" / f"{name}.json").read_text())["seconds"]
        print(f"  {name:14s} plain {p:6.2f} s   in the batch {graded:6.2f} s   "
              f"({graded - p:+.2f} s)")
    print(f"  load {load()}")
    print(f"\nfiles kept in {root}")


if __name__ == "__main__":
    main()
