"""Grading a class: workers, gradebook, resume, re-score, exports, Dask.

The class is five tiny Lab 9 notebooks built here (only the 1.1 section, numpy only, so a kernel
starts and finishes in about a second) graded against a rubric with only Lab 9's 1.1 checks:

  alice  1.1 correct                              -> graded 10/10
  bob    X correct, y all zeros                   -> graded 4/10
  carol  a syntax error in the 1.1 cell           -> graded 0/10 (the question is an error)
  dan    not JSON                                 -> failed to grade
  erin   `os._exit(1)` before the 1.1 code        -> graded 0/10, "the kernel died ..."

alice also appends the kernel's OMP_NUM_THREADS to a marker file, which shows both that the
thread limit reached the kernel and whether any kernel ran at all. The marker is outside the
kernel's directory, so a confined kernel cannot write it: only the unconfined run writes it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from answers import NUMPY_DATA_11, lab9_notebook, rubric_1_1
from rich.console import Console

from grader.batch.run import run_batch
from grader.options import GradeOptions
from grader.rubric import parse_rubric

pytestmark = pytest.mark.kernel  # every test here starts a kernel or a sandbox

RUN_TIMEOUT = 120  # seconds for one `grade` run in these tests

def write_class(folder: Path, marker: Path) -> Path:
    folder.mkdir(parents=True)
    mark = (f"import os\ntry:\n    with open({str(marker)!r}, 'a') as f:\n"
            "        f.write(os.environ.get('OMP_NUM_THREADS', 'unset') + '\\n')\n"
            "except OSError:\n    pass  # confined: the marker is outside the sandbox\n")
    nbformat.write(lab9_notebook(NUMPY_DATA_11 + mark), folder / "alice.ipynb")
    nbformat.write(lab9_notebook(NUMPY_DATA_11 + "y[:] = 0\n"), folder / "bob.ipynb")
    nbformat.write(lab9_notebook("X = [1, 2\n"), folder / "carol.ipynb")
    (folder / "dan.ipynb").write_text("this is not JSON")
    nbformat.write(lab9_notebook("import os; os._exit(1)", NUMPY_DATA_11), folder / "erin.ipynb")
    return folder


@dataclass
class Klass:
    root: Path
    notebooks: Path
    rubric: Path
    marker: Path
    base_out: Path  # graded once with 2 workers; tests copy it before changing anything
    base_run: subprocess.CompletedProcess
    common: list[str]

    def grade(self, paths: list[Path], out: Path, *extra: str | Path, rubric: Path | None = None,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return run_grade([*map(str, paths), "--rubric", str(rubric or self.rubric),
                          "--out", str(out), *self.common, *map(str, extra)], env=env)

    def copy_out(self, dest: Path) -> Path:
        shutil.copytree(self.base_out, dest)
        return dest

    def marker_lines(self) -> list[str]:
        return self.marker.read_text().split() if self.marker.exists() else []


def run_grade(args: list[str], timeout: float = RUN_TIMEOUT,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True,
                          text=True, timeout=timeout, check=False,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> Klass:
    root = tmp_path_factory.mktemp("class")
    marker = root / "alice-ran.txt"
    notebooks = write_class(root / "submissions", marker)
    rubric = root / "lab9-1.1.yaml"
    rubric.write_text(rubric_1_1())
    common = ["--cache", str(root / "refcache"), "--train-limit", "100"]
    k = Klass(root, notebooks, rubric, marker, root / "base", None, common)  # type: ignore[arg-type]
    k.base_run = k.grade([notebooks], k.base_out, "--workers", "2")
    return k


def submissions(out: Path) -> dict[str, dict]:
    with contextlib.closing(sqlite3.connect(out / "gradebook.sqlite")) as conn:
        conn.row_factory = sqlite3.Row
        return {r["student"]: dict(r) for r in conn.execute("SELECT * FROM submissions")}


def questions(out: Path) -> list[dict]:
    with contextlib.closing(sqlite3.connect(out / "gradebook.sqlite")) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM questions ORDER BY student")]


VARYING = {"graded_at", "executed_at", "seconds", "worker", "environment",
           "result"}  # the stored result: its own times and environment


def grades(out: Path) -> tuple[dict, list]:
    """The gradebook without what legitimately differs between runs (times, worker, versions)."""
    subs = {s: {k: v for k, v in row.items() if k not in VARYING}
            for s, row in submissions(out).items()}
    qs = [{k: v for k, v in row.items() if k not in VARYING} for row in questions(out)]
    return subs, qs


# -- the class, graded -------------------------------------------------------------------------
def test_class_of_five_graded_failures_recorded_exit_1(klass: Klass) -> None:
    run = klass.base_run
    assert run.returncode == 1, run.stderr  # dan failed to grade
    rows = submissions(klass.base_out)
    assert {s: (r["status"], r["score"]) for s, r in rows.items()} == {
        "alice": ("graded", 10.0), "bob": ("graded", 4.0), "carol": ("graded", 0.0),
        "dan": ("failed", 0.0), "erin": ("graded", 0.0)}
    assert "not a notebook" in rows["dan"]["reason"]
    assert "kernel died" in rows["erin"]["reason"]
    qs = {q["student"]: q for q in questions(klass.base_out)}
    assert qs["carol"]["status"] == "error"
    assert "SyntaxError" in qs["carol"]["errors"]
    assert "4 graded, 1 failed to grade, 0 skipped" in run.stdout
    for student in rows:
        assert (klass.base_out / f"{student}.json").exists()
        assert (klass.base_out / f"{student}.html").exists()


def test_unconfined_kernels_get_the_rubric_thread_limit(klass: Klass, tmp_path: Path) -> None:
    alice = klass.notebooks / "alice.ipynb"
    run = klass.grade([alice, klass.notebooks / "bob.ipynb"], tmp_path / "out",
                      "--unsafe-no-sandbox", "--workers", "2")
    assert run.returncode == 0, run.stderr
    assert klass.marker_lines() == ["1"]  # alice's kernel ran, with OMP_NUM_THREADS=1


def test_one_and_two_workers_give_identical_grades(klass: Klass, tmp_path: Path) -> None:
    run = klass.grade([klass.notebooks], tmp_path / "one", "--workers", "1")
    assert run.returncode == 1, run.stderr
    assert grades(tmp_path / "one") == grades(klass.base_out)
    workers = {r["worker"] for r in submissions(klass.base_out).values()}
    assert len(workers) == 2  # the base run really used two processes


def test_kernels_started_ahead_grade_as_cold_ones_each_for_one_notebook(
        klass: Klass, tmp_path: Path) -> None:
    # one worker, four notebooks: from the second on, each runs in a kernel started ahead while
    # the one before it ran (erin's kills its kernel; the next is fresh all the same)
    paths = [klass.notebooks / f"{s}.ipynb" for s in ("alice", "bob", "carol", "erin")]
    warm = klass.grade(paths, tmp_path / "warm", "--workers", "1")
    cold = klass.grade(paths, tmp_path / "cold", "--workers", "1", "--no-warm")
    assert warm.returncode == cold.returncode == 0, warm.stderr + cold.stderr
    assert grades(tmp_path / "warm") == grades(tmp_path / "cold")
    ahead = {s: any(k.endswith("(ahead)") for k in json.loads(
        (tmp_path / "warm" / f"{s}.json").read_text())["timings"]) for s in ("alice", "bob")}
    assert ahead == {"alice": False, "bob": True}
    assert not any(k.endswith("(ahead)") for k in json.loads(
        (tmp_path / "cold" / "bob.json").read_text())["timings"])


def test_rerun_skips_unchanged_and_grades_only_the_edited_notebook(klass: Klass,
                                                                   tmp_path: Path) -> None:
    out = klass.copy_out(tmp_path / "out")
    notebooks = shutil.copytree(klass.notebooks, tmp_path / "submissions")
    before = submissions(out)
    run = klass.grade([notebooks], out)
    assert run.returncode == 1, run.stderr  # dan still stands as failed to grade
    assert "0 graded, 0 failed to grade, 5 skipped" in run.stdout
    assert submissions(out) == before
    nb = nbformat.read(notebooks / "bob.ipynb", as_version=4)
    nb.cells[1].source = NUMPY_DATA_11  # bob fixes y
    nbformat.write(nb, notebooks / "bob.ipynb")
    run = klass.grade([notebooks], out)
    after = submissions(out)
    assert "1 graded, 0 failed to grade, 4 skipped" in run.stdout, run.stdout
    assert after["bob"]["score"] == 10.0 and after["bob"]["graded_at"] >= before["bob"]["graded_at"]
    assert after["bob"]["notebook_sha256"] != before["bob"]["notebook_sha256"]
    assert {s: r for s, r in after.items() if s != "bob"} == \
        {s: r for s, r in before.items() if s != "bob"}


def test_force_regrades_unchanged_submissions(klass: Klass, tmp_path: Path) -> None:
    out = klass.copy_out(tmp_path / "out")
    run = klass.grade([klass.notebooks / "alice.ipynb", klass.notebooks / "dan.ipynb"], out,
                      "--force")
    assert "1 graded, 1 failed to grade, 0 skipped" in run.stdout, run.stdout + run.stderr
    before, after = submissions(klass.base_out), submissions(out)
    assert after["alice"]["worker"] != before["alice"]["worker"]  # a new worker process ran it
    assert after["bob"] == before["bob"]
    assert grades(out) == grades(klass.base_out)


# -- kill -9 mid-batch -------------------------------------------------------------------------
def read_rows_when_ready(db: Path, deadline: float) -> dict[str, dict]:
    while time.monotonic() < deadline:
        if db.exists():
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                    conn.row_factory = sqlite3.Row
                    rows = {r["student"]: dict(r) for r in
                            conn.execute("SELECT * FROM submissions")}
                if rows:
                    return rows
            except sqlite3.OperationalError:
                pass  # not created yet
        time.sleep(0.05)
    raise AssertionError("no submission reached the gradebook in time")


def test_kill_9_mid_batch_loses_nothing_and_the_rerun_completes(klass: Klass,
                                                                 tmp_path: Path) -> None:
    folder = tmp_path / "slow"
    folder.mkdir()
    for name in ("s1", "s2", "s3", "s4"):
        nbformat.write(lab9_notebook("import time; time.sleep(3)", NUMPY_DATA_11),
                       folder / f"{name}.ipynb")
    out = tmp_path / "out"
    args = [sys.executable, "-m", "grader.cli", str(folder), "--rubric", str(klass.rubric),
            "--out", str(out), "--workers", "2", *klass.common]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        first = read_rows_when_ready(out / "gradebook.sqlite", time.monotonic() + 90)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert 1 <= len(first) < 4
        committed = submissions(out)  # whatever was committed before the kill, all of it
        assert set(first) <= set(committed)
        rerun = subprocess.run(args, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                               check=False)
        assert rerun.returncode == 0, rerun.stderr
        rows = submissions(out)
        assert sorted(rows) == ["s1", "s2", "s3", "s4"]
        assert {r["status"] for r in rows.values()} == {"graded"}
        assert {r["score"] for r in rows.values()} == {10.0}
        assert {s: rows[s] for s in committed} == committed  # kept as they were, not regraded
        assert f"{4 - len(committed)} graded, 0 failed to grade, {len(committed)} skipped" \
            in rerun.stdout
        qs = questions(out)
        assert sorted((q["student"], q["question_id"]) for q in qs) == \
            [(s, "1.1") for s in ("s1", "s2", "s3", "s4")]
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the killed run's orphaned workers, if any
        except ProcessLookupError:
            pass


# -- re-scoring from cached executions ---------------------------------------------------------
def test_rescore_after_points_change_scores_anew_without_running_a_kernel(
        klass: Klass, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    out = klass.copy_out(tmp_path / "out")
    rubric = tmp_path / "more-points.yaml"
    rubric.write_text(rubric_1_1(x_points=6))

    def no_execution(*args: object, **kwargs: object) -> None:
        raise AssertionError("--rescore tried to execute a notebook")

    # In this process, so that every way to run a notebook can be closed off.
    for name in ("run.run_local", "run.run_dask", "run.grade_task", "task.execute_notebook",
                 "runners.grade_task"):
        monkeypatch.setattr(f"grader.batch.{name}", no_execution)
    monkeypatch.setattr("grader.sandbox.kernel.KernelSession.start", no_execution)
    before = submissions(out)
    summary = run_batch(GradeOptions(
        paths=(klass.notebooks,), rubric_path=rubric, out_dir=out, train_limit=100,
        reference_cache=klass.root / "refcache", confine=True,
        rescore=True), Console(file=io.StringIO()))
    assert summary.exit_code == 1  # dan still failed to grade
    assert summary.count(how="rescored") == 5
    after = submissions(out)
    assert {s: r["score"] for s, r in after.items()} == {
        "alice": 12.0, "bob": 6.0, "carol": 0.0, "dan": 0.0, "erin": 0.0}
    assert {r["max_score"] for r in after.values()} == {12.0}
    assert all(after[s]["executed_at"] == before[s]["executed_at"] for s in after)
    assert {r["rubric_sha256"] for r in after.values()} == {parse_rubric(
        rubric.read_text(), rubric).sha256}
    assert json.loads((out / "alice.json").read_text())["score"] == 12.0
    assert json.loads((out / "gradescope/alice/results.json").read_text())["score"] == 12.0


def test_rescore_refused_when_a_check_asks_the_notebook_something_else(
        klass: Klass, tmp_path: Path) -> None:
    out = klass.copy_out(tmp_path / "out")
    rubric = tmp_path / "other-artifact.yaml"
    rubric.write_text(rubric_1_1(x_artifact="X_train"))
    run = klass.grade([klass.notebooks], out, "--rescore", rubric=rubric)
    assert run.returncode == 2
    assert "question 1.1, check 1 'X equals the seeded data set': artifact changed" in run.stderr
    assert "--force" in run.stderr
    assert submissions(out) == submissions(klass.base_out)


# -- exports -------------------------------------------------------------------------------------
def test_grades_csv_one_row_per_student_and_roster_missing(klass: Klass, tmp_path: Path) -> None:
    out = klass.copy_out(tmp_path / "out")
    roster = tmp_path / "roster.csv"
    roster.write_text("student,email\nalice,a@x\nbob,b@x\ncarol,c@x\ndan,d@x\nerin,e@x\nzoe,z@x\n")
    run = klass.grade([klass.notebooks], out, "--roster", roster)
    assert run.returncode == 1, run.stderr
    assert "1 on the roster without a submission" in run.stdout
    with (out / "grades.csv").open(newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames[:4] == ["student", "1.1", "total", "max"]
    assert [r["student"] for r in rows] == ["alice", "bob", "carol", "dan", "erin", "zoe"]
    by = {r["student"]: r for r in rows}
    assert (by["alice"]["1.1"], by["alice"]["total"], by["alice"]["max"]) == ("10", "10", "10")
    assert (by["bob"]["total"], by["bob"]["status"]) == ("4", "graded")
    assert by["dan"]["status"] == "failed"
    assert (by["zoe"]["status"], by["zoe"]["total"], by["zoe"]["1.1"]) == ("missing", "", "")


def test_gradescope_results_json_per_student(klass: Klass) -> None:
    for student, row in submissions(klass.base_out).items():
        path = klass.base_out / "gradescope" / student / "results.json"
        results = json.loads(path.read_text())
        assert set(results) == {"score", "tests", "execution_time", "output", "visibility",
                                "stdout_visibility"}
        assert results["score"] == row["score"]
        assert isinstance(results["execution_time"], int)
        assert len(results["tests"]) == 1
        test = results["tests"][0]
        assert set(test) == {"name", "number", "score", "max_score", "status", "output",
                             "visibility"}
        assert test["name"].startswith("1.1 ") and test["visibility"] == "visible"
        assert test["number"] == "1.1"
        assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
        assert test["max_score"] == 10 and test["score"] == row["score"]
    bob = json.loads((klass.base_out / "gradescope/bob/results.json").read_text())
    assert "✗ y equals the seeded targets (0/2)" in bob["tests"][0]["output"]
    dan = json.loads((klass.base_out / "gradescope/dan/results.json").read_text())
    assert dan["output"].startswith("This notebook could not be graded")


# -- Dask --------------------------------------------------------------------------------------
def test_dask_scheduler_gives_the_same_grades_as_local_workers(klass: Klass,
                                                               tmp_path: Path) -> None:
    from distributed import LocalCluster

    # Scheduler and worker on loopback, in this process (threads): the grader connects to it
    # by address, as it would to a cluster's scheduler.
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        run = klass.grade([klass.notebooks], tmp_path / "dask", "--dask",
                          cluster.scheduler_address)
    assert run.returncode == 1, run.stderr
    assert grades(tmp_path / "dask") == grades(klass.base_out)


def test_dask_unreachable_scheduler_is_unusable_input(klass: Klass, tmp_path: Path) -> None:
    run = klass.grade([klass.notebooks], tmp_path / "out", "--dask", "tcp://127.0.0.1:9",
                      env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    assert run.returncode == 2
    assert "cannot reach the scheduler" in run.stderr


# -- input ---------------------------------------------------------------------------------------
def test_missing_folder_and_roster_without_student_column_exit_2(klass: Klass,
                                                                 tmp_path: Path) -> None:
    run = klass.grade([tmp_path / "nowhere"], tmp_path / "out")
    assert run.returncode == 2 and "no such file or folder" in run.stderr
    roster = tmp_path / "roster.csv"
    roster.write_text("name\nalice\n")
    run = klass.grade([klass.notebooks], tmp_path / "out", "--roster", roster)
    assert run.returncode == 2 and "'student' column" in run.stderr


def test_class_dashboard_links_every_graded_student_and_lists_failures(klass: Klass) -> None:
    from grader.report import safe_name

    html = (klass.base_out / "index.html").read_text()
    for student, row in submissions(klass.base_out).items():
        report = klass.base_out / f"{safe_name(student)}.html"
        if report.exists():
            assert f'href="{safe_name(student)}.html"' in html
        if row["status"] == "failed":
            assert "Failed to grade" in html and row["reason"][:30].split("<")[0] in html


def test_quiet_run_prints_only_the_counts(klass: Klass, tmp_path: Path) -> None:
    out = klass.copy_out(tmp_path / "out")
    run = klass.grade([klass.notebooks], out, "--quiet")
    assert run.stderr == ""
    assert run.stdout.startswith("5 submissions: 0 graded") and "skipped" in run.stdout
