"""Wall time of grading a notebook against plain `jupyter nbconvert --execute` of the same notebook.

    .venv/bin/python bench/overhead.py submissions/alice.ipynb [--data ../shared/data/mnist] [--repeat 2]

Both runs get the same provisioned data in a fresh folder. Grading is timed as the whole `grade`
command (process start, rubric, data, sandboxed kernel, captures, checks, reports); the reference's
calibration results are warmed in the cache first, so the figure is the per-notebook cost an
instructor pays for a class. Prints one line per run and the median overhead.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def plain_nbconvert(notebook: Path, data: Path | None, rubric: str) -> float:
    from grader.data import load_data, provision
    from grader.rubric import load_rubric

    layouts = load_rubric(ROOT / "rubrics" / f"{rubric}.yaml").data.layouts
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        provision(load_data(data), work, layouts)
        shutil.copy(notebook, work / notebook.name)
        return timed([str(VENV_BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                      "--allow-errors", "--ExecutePreprocessor.timeout=1800",
                      "--output", "executed.ipynb", notebook.name], work)


def grading(notebook: Path, data: Path | None, cache: Path, sandbox: bool) -> float:
    with tempfile.TemporaryDirectory() as out:
        cmd = [str(VENV_BIN / "grade"), str(notebook.resolve()), "--out", out, "--cache", str(cache)]
        if data:
            cmd += ["--data", str(data.resolve())]
        if not sandbox:
            cmd.append("--unsafe-no-sandbox")
        return timed(cmd, ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--rubric", default="lab9")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-sandbox", action="store_true")
    args = parser.parse_args()
    cache = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    print(f"warming the reference cache for {args.notebook} ...", flush=True)
    grading(args.notebook, args.data, cache, not args.no_sandbox)
    plain, graded = [], []
    for i in range(args.repeat):
        plain.append(plain_nbconvert(args.notebook, args.data, args.rubric))
        graded.append(grading(args.notebook, args.data, cache, not args.no_sandbox))
        print(f"run {i + 1}: nbconvert --execute {plain[-1]:.1f} s, grade {graded[-1]:.1f} s",
              flush=True)
    p, g = statistics.median(plain), statistics.median(graded)
    print(f"median: nbconvert --execute {p:.1f} s | grade {g:.1f} s | overhead {g - p:+.1f} s "
          f"(data: {args.data or 'default digits'}, sandbox: {not args.no_sandbox})")
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
