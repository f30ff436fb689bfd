"""Scale: a class of small notebooks (built here, a few seconds each) on 1 and 2 workers.

    .venv/bin/python bench/scale.py                 # 100 notebooks: the issue-14 figures
    .venv/bin/python bench/scale.py --n 20          # quicker

Each notebook is Lab 9's 1.1 (numpy) plus a cell of pure-Python work (about 1 s of one core), graded
against the 1.1-only rubric of the tests. Prints, with the load average after each run:
- wall time of the class on 1 worker and on 2 workers (fresh output folders), notebooks per second,
  and the throughput ratio (target >= 1.8x);
- the peak RSS of the `grade` process and of its worker processes (sampled every 0.2 s), for the
  first 10 notebooks graded alone and for the whole class (target <= 400 MB, flat);
- re-running the unchanged class (everything skipped): seconds per notebook (target <= 0.3 s);
- `--rescore` of 30 of them after a change of points (no kernel): seconds (target <= 5 s);
- per notebook, plain nbclient of a few of them, one after the other, against the class's seconds
  per notebook on 2 workers and the median of each notebook's own grading time in that batch
  (its result's `seconds`, in a kernel started ahead).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from answers import NUMPY_DATA_11, lab9_notebook, rubric_1_1
from common import ENV, grade_cmd, load, plain_nbclient

WORK = "total = 0\nfor i in range(6_000_000):\n    total += i * i % 7\nprint(total)"


@dataclass
class TreeSampler:
    """Peak RSS (MiB) of a process and, separately, of its direct children (grader workers)."""

    pid: int
    main_peak: int = 0
    worker_peak: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            main = _rss_mib(self.pid)
            if main is None:
                return
            self.main_peak = max(self.main_peak, main)
            for child in _children(self.pid):
                self.worker_peak = max(self.worker_peak, _rss_mib(child) or 0)
            self.samples += 1
            time.sleep(0.2)


def _rss_mib(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((x for x in text.splitlines() if x.startswith("VmRSS")), "VmRSS: 0 kB")
    return int(line.split()[1]) // 1024


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def grade(args: list[str]) -> tuple[float, subprocess.CompletedProcess, TreeSampler]:
    start = time.perf_counter()
    proc = subprocess.Popen(grade_cmd(*args), env=ENV, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    sampler = TreeSampler(proc.pid)
    thread = sampler.start()
    out, err = proc.communicate()
    sampler.stop()
    thread.join()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"grade exited {proc.returncode}: {err[-2000:]}")
    return seconds, subprocess.CompletedProcess(proc.args, proc.returncode, out, err), sampler


def build_class(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i in range(n):
        path = folder / f"s{i:03d}.ipynb"
        nbformat.write(lab9_notebook(NUMPY_DATA_11, WORK), path)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--plain", type=int, default=3, help="notebooks run plainly (nbclient)")
    parser.add_argument("--no-warm", action="store_true", help="pass --no-warm to grade")
    opts = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    paths = build_class(root / "class", opts.n)
    shutil.copytree(root / "class", root / "ten", ignore=lambda d, names: sorted(names)[10:])
    rubric = root / "rubric.yaml"
    rubric.write_text(rubric_1_1())
    common = ["--rubric", str(rubric), "--cache", str(root / "refcache"), "--train-limit", "100"]
    if opts.no_warm:
        common.append("--no-warm")
    figures: dict[str, object] = {"notebooks": opts.n}

    def run(label: str, args: list[str]) -> tuple[float, TreeSampler]:
        seconds, done, sampler = grade([*args, *common])
        tail = done.stdout.strip().splitlines()[-1:] or [""]
        print(f"{label:44s} {seconds:7.1f} s  main RSS peak {sampler.main_peak} MiB, workers "
              f"{sampler.worker_peak} MiB  (load {load()})  {tail[0][:80]}", flush=True)
        figures[label] = {"seconds": round(seconds, 2), "main_peak_mib": sampler.main_peak,
                          "worker_peak_mib": sampler.worker_peak, "load": load()}
        return seconds, sampler

    run("warm-up: 1 notebook (reference cache)", [str(paths[0]), "--out", str(root / "w")])
    run("10 notebooks, 2 workers", [str(root / "ten"), "--out", str(root / "o10"),
                                    "--workers", "2"])
    one, _ = run(f"{opts.n} notebooks, 1 worker", [str(root / "class"), "--out",
                                                   str(root / "o1"), "--workers", "1"])
    two, _ = run(f"{opts.n} notebooks, 2 workers", [str(root / "class"), "--out",
                                                    str(root / "o2"), "--workers", "2"])
    own = [json.loads(f.read_text())["seconds"] for f in sorted((root / "o2").glob("*.json"))]
    again, _ = run("re-run, unchanged (all skipped)", [str(root / "class"), "--out",
                                                        str(root / "o2"), "--workers", "2"])
    thirty = root / "thirty"
    shutil.copytree(root / "o2", thirty)
    (root / "more.yaml").write_text(rubric_1_1(x_points=6))
    sub = root / "class30"
    shutil.copytree(root / "class", sub, ignore=lambda d, names: sorted(names)[30:])
    start = time.perf_counter()
    done = subprocess.run(grade_cmd(str(sub), "--out", str(thirty), "--rescore", "--rubric",
                                    str(root / "more.yaml"), "--cache", str(root / "refcache"),
                                    "--train-limit", "100"),
                          env=ENV, capture_output=True, text=True, check=False)
    rescore = time.perf_counter() - start
    print(f"{'--rescore of 30 (points changed)':44s} {rescore:7.1f} s  exit {done.returncode} "
          f"(load {load()})  {(done.stdout.strip().splitlines() or [''])[-1][:80]}", flush=True)
    plain = plain_nbclient(paths[: opts.plain], None, rubric)
    figures.update({
        "throughput_ratio_2_vs_1": round(one / two, 2),
        "seconds_per_notebook_1_worker": round(one / opts.n, 2),
        "seconds_per_notebook_2_workers": round(two / opts.n, 2),
        "rerun_seconds_per_notebook": round(again / opts.n, 3),
        "rescore_30_seconds": round(rescore, 2),
        "plain_nbclient_seconds_per_notebook": round(statistics.median(plain), 2),
        "graded_in_the_2_worker_batch_median_seconds": round(statistics.median(own), 2),
        "load_at_end": load(),
    })
    print(json.dumps(figures, indent=2))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
