"""Wall time of grading one notebook against plain nbclient execution of it, side by side.

    .venv/bin/python bench/overhead.py submissions/alice.ipynb [--data ../shared/data/mnist] [--repeat 5]
    .venv/bin/python bench/overhead.py submissions/hw2/erin.ipynb --rubric rubrics/hw2.yaml
    .venv/bin/python bench/overhead.py submissions/alice.ipynb --checkout ../main   # before

Plain: a fresh Python runs nbclient on the notebook in a folder holding the same provisioned data
(process start, kernel start, every cell). Grading: the whole `grade` command of this checkout
(process start, rubric, data, confined kernel, captures, checks, reports, gradebook), `--force`
so that it executes every time. The reference's calibration results are warmed in the cache first:
the figure is the per-notebook cost an instructor pays. Runs alternate (plain, grade, plain, ...)
so that the machine's load weighs on both alike; prints each run, the median and spread of each,
the overhead of the medians, the load average, and the last grade's slowest stages (its result
JSON's `timings`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ENV, ROOT, grade_cmd, load, plain_nbclient, spread, timed


def grading(notebook: Path, data: Path | None, rubric: Path, cache: Path, out: Path,
            sandbox: bool) -> float | None:
    cmd = grade_cmd(str(notebook.resolve()), "--rubric", str(rubric), "--out", str(out),
                    "--cache", str(cache), "--force")
    if data:
        cmd += ["--data", str(data.resolve())]
    if not sandbox:
        cmd.append("--unsafe-no-sandbox")
    seconds, code = timed(cmd, Path(ENV["PYTHONPATH"]))  # there: `-c` puts the cwd first
    if code not in (0, 3):
        fatal = json.loads((out / f"{notebook.stem}.json").read_text()).get("fatal", "")
        print(f"  grade exited {code} after {seconds:.1f} s ({fatal}): left out", flush=True)
        return None
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--rubric", type=Path, default=ROOT / "rubrics" / "lab9.yaml")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-sandbox", action="store_true")
    parser.add_argument("--checkout", type=Path, help="grade with the grader of this checkout "
                        "(e.g. the main branch's, for a before/after in one session)")
    args = parser.parse_args()
    if args.checkout:
        ENV["PYTHONPATH"] = str(args.checkout.resolve())
    rubric = args.rubric.resolve()
    tmp = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    cache, out = tmp / "cache", tmp / "out"
    print(f"warming the reference cache for {args.notebook} (load {load()}) ...", flush=True)
    grading(args.notebook, args.data, rubric, cache, out, not args.no_sandbox)
    plain, graded, loads = [], [], []
    for i in range(args.repeat):
        plain += plain_nbclient([args.notebook], args.data, rubric)
        seconds = grading(args.notebook, args.data, rubric, cache, out, not args.no_sandbox)
        if seconds is None:
            plain.pop()
            continue
        graded.append(seconds)
        loads.append(load())
        print(f"run {i + 1}: plain nbclient {plain[-1]:.2f} s, grade {graded[-1]:.2f} s "
              f"(+{graded[-1] - plain[-1]:.2f} s; load {loads[-1]})", flush=True)
    p, g = statistics.median(plain), statistics.median(graded)
    print(f"plain nbclient: {spread(plain)}\ngrade:          {spread(graded)}\n"
          f"overhead of the medians: {g - p:+.2f} s ({g / p:.2f}x); data: "
          f"{args.data or 'default digits'}; sandbox: {not args.no_sandbox}; load after each "
          f"run: {' | '.join(loads)}")
    result = json.loads((out / f"{args.notebook.stem}.json").read_text())
    timings = sorted(result.get("timings", {}).items(), key=lambda kv: -kv[1])[:10]
    print("last grade's slowest stages: " + ", ".join(f"{k} {v:.2f}" for k, v in timings)
          + f"; result seconds {result['seconds']:.2f}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
