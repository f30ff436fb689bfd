"""Nothing is left behind, whatever happens to the grader (issue 13, part 5).

Each test runs the real `grade` command on a class of tiny Lab 9 notebooks (numpy only) with its own
TMPDIR, so every folder and process of that run can be found: a process belongs to it when its
command line or environment names that TMPDIR (the grader, its workers, the bwraps and kernels).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from answers import NUMPY_DATA_11, lab9_notebook, rubric_1_1

pytestmark = pytest.mark.kernel  # every test here starts kernels in sandboxes

RUN_TIMEOUT = 180
GONE_WITHIN = 10.0  # seconds for every process of a stopped run to be gone
NUL = bytes(1)


class Run:
    """One class of slow notebooks, its rubric, its private TMPDIR and output folder."""

    def __init__(self, root: Path, students: int = 4, seconds: float = 3) -> None:
        self.root, self.tmp, self.out = root, root / "tmp", root / "out"
        self.tmp.mkdir()
        self.notebooks = root / "class"
        self.notebooks.mkdir()
        for i in range(students):
            nb = lab9_notebook(f"import time; time.sleep({seconds})", NUMPY_DATA_11)
            nbformat.write(nb, self.notebooks / f"s{i}.ipynb")
        self.rubric = root / "rubric.yaml"
        self.rubric.write_text(rubric_1_1())

    def args(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "grader.cli", str(self.notebooks), "--rubric",
                str(self.rubric), "--out", str(self.out), "--cache", str(self.root / "refcache"),
                "--train-limit", "100", "--workers", "2", *extra]

    def env(self) -> dict[str, str]:
        return {**os.environ, "TMPDIR": str(self.tmp)}

    def start(self, *extra: str) -> subprocess.Popen:
        return subprocess.Popen(self.args(*extra), env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def run(self, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.args(*extra), env=self.env(), capture_output=True, text=True,
                              timeout=RUN_TIMEOUT, check=False)

    def processes(self) -> list[str]:
        """This run's processes: those whose command line or environment names its TMPDIR."""
        marker = str(self.tmp).encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if marker in cmdline or marker in environ:
                found.append(f"{entry.name}: {cmdline.replace(NUL, b' ')[:150].decode()}")
        return found

    def leftovers(self) -> list[str]:
        """Temp folders in TMPDIR, and half-written files in the output folder."""
        temp = sorted(p.name for p in self.tmp.iterdir())
        half = sorted(str(p.relative_to(self.out)) for p in self.out.rglob(".*tmp*"))
        return temp + half

    def rows(self) -> dict[str, dict]:
        with contextlib.closing(sqlite3.connect(self.out / "gradebook.sqlite")) as conn:
            conn.row_factory = sqlite3.Row
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            return {r["student"]: dict(r) for r in conn.execute("SELECT * FROM submissions")}

    def wait_for_a_row(self, proc: subprocess.Popen, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if self.rows():
                    return
            except sqlite3.OperationalError:
                pass  # not created yet
            time.sleep(0.1)
        raise AssertionError(f"no result recorded in time: {proc.poll()}")


def seconds_until_gone(run: Run, timeout: float = GONE_WITHIN) -> float:
    start = time.monotonic()
    while run.processes() and time.monotonic() - start < timeout:
        time.sleep(0.1)
    assert run.processes() == [], "left running"
    return time.monotonic() - start


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL],
                         ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_grader_stopped_mid_batch_leaves_nothing_and_the_rerun_loses_nothing(
        tmp_path: Path, sig: signal.Signals) -> None:
    run = Run(tmp_path, students=3, seconds=2)
    proc = run.start()
    try:
        run.wait_for_a_row(proc)
        signalled = time.monotonic()
        os.kill(proc.pid, sig)
        _, stderr = proc.communicate(timeout=60)
        exited = time.monotonic() - signalled
        gone = seconds_until_gone(run) + exited
        print(f"{sig.name}: the grader exited {exited:.1f} s after the signal, every process and "
              f"sandbox of the run was gone {gone:.1f} s after it")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if sig != signal.SIGKILL:
        assert proc.returncode == 130, stderr
        assert "interrupted" in stderr
        assert run.leftovers() == []
    committed = run.rows()
    assert 1 <= len(committed) < 3
    rerun = run.run()
    assert rerun.returncode == 0, rerun.stderr
    rows = run.rows()
    assert {s: r["score"] for s, r in rows.items()} == {f"s{i}": 10.0 for i in range(3)}
    assert {s: rows[s] for s in committed} == committed  # kept, not graded again
    assert run.leftovers() == []  # a kill -9's stale folders were removed by the rerun
    assert run.processes() == []


def test_second_grade_on_the_same_out_is_refused_and_the_gradebook_is_intact(
        tmp_path: Path) -> None:
    run = Run(tmp_path)
    first = run.start()
    try:
        run.wait_for_a_row(first)
        second = run.run()
        assert second.returncode == 2
        assert f"is being written by another grade process (pid {first.pid})" in \
            " ".join(second.stderr.split()), second.stderr
        _, first_err = first.communicate(timeout=RUN_TIMEOUT)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert first.returncode == 0, first_err
    assert {s: r["score"] for s, r in run.rows().items()} == {f"s{i}": 10.0 for i in range(4)}
    assert run.leftovers() == []


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_out_on_a_full_file_system_is_a_clear_error_and_the_gradebook_stays_intact(
        tmp_path: Path) -> None:
    run = Run(tmp_path, students=2, seconds=0)
    run.out.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(run.out)], check=True)
    try:
        assert run.run().returncode == 0
        before = run.rows()
        filler = run.out / "filler"
        with filler.open("wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"x" * 4096)
            except OSError:
                pass
        again = run.run("--force")
        assert again.returncode == 2, again.stderr
        said = " ".join(again.stderr.split())
        assert f"cannot write the results to {run.out}: its file system is full." in said, said
        assert "rerun with --debug" not in said
        filler.unlink()
        assert run.rows() == before
        assert run.leftovers() == []
    finally:
        subprocess.run(["umount", "-l", str(run.out)], check=False)


FLOOD = """
import ctypes, os
for _ in range(1024):
    os.write(1, b"x" * 2**20)  # 1 GiB past print, its cap and the kernel's streams
libc = ctypes.CDLL(None)
for _ in range(512):
    libc.write(2, b"y" * 2**20, 2**20)  # 512 MiB as a C extension writes to stderr
print("flooded")
"""

GRADE_ONE_AND_MEASURE = """
import sys
from pathlib import Path
from grader.assignment import load_assignment
from grader.pipeline import GradeConfig, grade_notebook
rubric = Path(sys.argv[2])
a = load_assignment(rubric.read_text(), rubric, None, 100)
r = grade_notebook(Path(sys.argv[1]), GradeConfig(rubric=a.rubric, data=a.data, confine=True))
print(r.questions[0].points, len(r.questions[0].section.stdout))
# VmHWM, not ru_maxrss: ru_maxrss keeps the parent's high-water mark across fork and exec (pytest's,
# over 1 GiB late in the suite)
status = Path("/proc/self/status").read_text()
print(int(status.split("VmHWM:")[1].split()[0]) // 1024)
"""


def test_output_flood_through_file_descriptors_leaves_grader_memory_and_disk_bounded(
        tmp_path: Path) -> None:
    run = Run(tmp_path, students=0)
    nb = run.notebooks / "flood.ipynb"
    nbformat.write(lab9_notebook(NUMPY_DATA_11, FLOOD), nb)
    free_before = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    done = subprocess.run([sys.executable, "-c", GRADE_ONE_AND_MEASURE, str(nb), str(run.rubric)],
                          env=run.env(), capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    graded, peak_mib = done.stdout.splitlines()[-2:]
    print(f"the grader's peak RSS: {peak_mib} MiB after a 1.5 GiB flood")
    points, kept = graded.split()
    assert points == "10.0" and int(kept) <= 21 * 2**20  # the output cap kept 20 MB of it
    assert int(peak_mib) < 400  # the flood is 1,536 MiB
    free_after = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    assert free_before - free_after < 512 * 2**20  # nothing of it on disk (others share it)
    assert run.leftovers() == []
