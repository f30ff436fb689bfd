"""Soak: grade a class of N tiny notebooks of five kinds with 2 workers, then run it again.

The kinds, one in five each (Lab 9's 1.1 only, numpy only, so a kernel starts in about a second):
correct (10/10), wrong (y all zeros: 4/10), hanging (a cell that sleeps past --cell-timeout, then
the correct code: 10/10 with a timeout), crashing (`os._exit` in 1.1: 0/10, the kernel died) and
malformed (not JSON: failed to grade). The run has its own TMPDIR, so its folders and processes can
be found afterwards. Prints, as JSON: the counts by verdict, mismatches, wall times of both runs,
the grader's RSS (sampled every 0.2 s: first and last quarter's medians, peak), processes and temp
folders left.

    .venv/bin/python bench/soak.py              # 200 notebooks
    .venv/bin/python bench/soak.py --n 50
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from answers import NUMPY_DATA_11, lab9_notebook, rubric_1_1

KINDS: dict[str, tuple[list[str] | None, tuple[str, float | None]]] = {
    "correct": ([NUMPY_DATA_11], ("graded", 10.0)),
    "wrong": ([NUMPY_DATA_11 + "y[:] = 0\n"], ("graded", 4.0)),
    "hanging": (["import time\ntime.sleep(10**6)", NUMPY_DATA_11], ("graded", 10.0)),
    "crashing": (["import os\nos._exit(1)", NUMPY_DATA_11], ("graded", 0.0)),
    "malformed": (None, ("failed", 0.0)),
}


@dataclass
class Sampler:
    """The RSS of one process, sampled in a thread until it exits."""

    pid: int
    samples: list[int] = field(default_factory=list)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while True:
            try:
                line = next(x for x in status.read_text().splitlines() if x.startswith("VmRSS"))
            except (OSError, StopIteration):
                return
            self.samples.append(int(line.split()[1]) // 1024)
            time.sleep(0.2)

    def summary(self) -> dict[str, float]:
        quarter = max(1, len(self.samples) // 4)
        return {"first_quarter_mib": statistics.median(self.samples[:quarter]),
                "last_quarter_mib": statistics.median(self.samples[-quarter:]),
                "peak_mib": max(self.samples), "samples": len(self.samples)}


def build_class(folder: Path, n: int) -> dict[str, str]:
    """n notebooks, kinds in turn; student -> kind."""
    folder.mkdir(parents=True)
    kinds = {}
    for i in range(n):
        kind = list(KINDS)[i % len(KINDS)]
        student = f"{kind}{i:03d}"
        cells = KINDS[kind][0]
        if cells is None:
            (folder / f"{student}.ipynb").write_text("{ not a notebook")
        else:
            nbformat.write(lab9_notebook(*cells), folder / f"{student}.ipynb")
        kinds[student] = kind
    return kinds


def our_processes(marker: str) -> list[int]:
    """Processes whose command line or environment names `marker` (the run's TMPDIR)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            text = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in text:
            found.append(int(entry.name))
    return found


def grade(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess,
                                                          Sampler]:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "grader.cli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = Sampler(proc.pid)
    thread = sampler.start()
    out, err = proc.communicate()
    thread.join()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return time.perf_counter() - start, done, sampler


def counts_line(stdout: str) -> list[str]:
    """The run's headline counts ("N graded, M failed to grade, K skipped"), as a list of one."""
    return [line for line in stdout.splitlines() if " failed to grade, " in line][-1:]


def soak(n: int, root: Path, workers: int = 2) -> dict:
    """Grade the class twice; what happened, as plain data."""
    kinds = build_class(root / "class", n)
    rubric = root / "rubric.yaml"
    rubric.write_text(rubric_1_1())
    tmp = root / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    args = [str(root / "class"), "--rubric", str(rubric), "--out", str(root / "out"),
            "--cache", str(root / "refcache"), "--train-limit", "100", "--workers", str(workers),
            "--cell-timeout", "2"]
    first_seconds, first, sampler = grade(args, env)
    with contextlib.closing(sqlite3.connect(root / "out" / "gradebook.sqlite")) as conn:
        rows = {s: (status, score) for s, status, score in
                conn.execute("SELECT student, status, score FROM submissions")}
    mismatches = {s: [kind, rows.get(s)] for s, kind in kinds.items()
                  if rows.get(s) != KINDS[kind][1]}
    second_seconds, second, _ = grade(args, env)
    time.sleep(1)
    return {
        "notebooks": n, "workers": workers,
        "first_run": {"seconds": round(first_seconds, 1), "exit": first.returncode,
                      "summary": counts_line(first.stdout)},
        "second_run": {"seconds": round(second_seconds, 1), "exit": second.returncode,
                       "summary": counts_line(second.stdout)},
        "verdicts": {kind: sum(1 for s, k in kinds.items() if k == kind and s not in mismatches)
                     for kind in KINDS},
        "mismatches": mismatches,
        "grader_rss": sampler.summary(),
        "processes_left": our_processes(str(tmp)),
        "temp_left": sorted(p.name for p in tmp.iterdir()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as root:
        print(json.dumps(soak(options.n, Path(root), options.workers), indent=2))


if __name__ == "__main__":
    main()
