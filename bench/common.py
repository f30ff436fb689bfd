"""What the benchmarks share: running `grade` from this checkout, plain nbclient execution of the
same notebook in a folder provisioned the same way, load average, median and spread."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's grader, whatever `grade` is

PLAIN = """\
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=1800, allow_errors=True, kernel_name="python3",
               resources={"metadata": {"path": "."}}).execute()
"""


def load() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` prints them."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, int]:
    start = time.perf_counter()
    run = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=env or ENV, check=False)
    return time.perf_counter() - start, run.returncode


def grade_cmd(*args: str) -> list[str]:
    return [sys.executable, "-c", "from grader.cli import main; main()", *args]


def provisioned(folder: Path, data: Path | None, rubric: Path) -> None:
    """Write the data the rubric's notebooks expect into `folder`, as the grader does."""
    from grader.data import load_data, provision
    from grader.rubric import load_rubric

    provision(load_data(data), folder, load_rubric(rubric).data.layouts)


def plain_nbclient(notebooks: list[Path], data: Path | None, rubric: Path) -> list[float]:
    """Seconds of a fresh Python running nbclient on each notebook, one after the other, each in
    its own provisioned folder (process start and kernel start included, as for `grade`)."""
    times = []
    for notebook in notebooks:
        with tempfile.TemporaryDirectory(prefix="bench-plain-") as tmp:
            work = Path(tmp)
            provisioned(work, data, rubric)
            shutil.copy(notebook, work / notebook.name)
            seconds, _ = timed([sys.executable, "-c", PLAIN, notebook.name], work)
            times.append(seconds)
    return times


def spread(values: list[float]) -> str:
    """'median 9.8 s (9.5-10.4, n=3)'."""
    return (f"median {statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f}, "
            f"n={len(values)})")
