"""Hostile notebooks (issue 5): every notebook is untrusted, and grading one always ends.

Each test grades, through the real pipeline and in the real sandbox, a notebook that attacks the
grader: hangs, bombs, crashes, floods, forges, snoops, patches, or is not a notebook at all. For each
it asserts that the grade completes (`grade_notebook` returns; the notebook's time limit bounds it),
that the damage stays with the questions concerned (1.1 is answered correctly first and keeps its 10 points), that
the sentence a student reads says what happened, and that no other student's file changed (the
autouse `bystanders` fixture). The rubric is Lab 9 cut to 1.1 and 1.2 (plus 1.4 where a later
question is needed): cheap checks, no training. Limits are small so each case takes seconds.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import nbformat.v3
import pytest
from answers import H11, H12, H14, NUMPY_DATA_11
from conftest import REPO, build_notebook, check_outcome, question, rubric_with, verdicts

import grader.sandbox.kernel as kernel_module
from grader.report import write_reports
from grader.results import GradeResult
from grader.sandbox.confine import Limits
from grader.sandbox.host import confinement_available

pytestmark = pytest.mark.kernel  # every test here starts a kernel or a sandbox

SANDBOX_UID = 65534  # SandboxSpec.uid: what confined student code runs as on the host

CORRECT_11 = ("code", NUMPY_DATA_11)  # numpy only: these kernels start in about a second
CORRECT_12 = ("code", """
    import torch
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv1d(C, 3, kernel_size=5, padding=2),
        torch.nn.ReLU(),
        torch.nn.MaxPool1d(kernel_size=W),
        torch.nn.Flatten(),
        torch.nn.Linear(3, 1),
    )
    """)
AFTER = ("code", "print('the next cell ran')")
LATER_14 = [H14, ("code", "print('1.4 ran, X', X.shape)")]  # X from 1.1: replayed after a restart

DEAD = ("DeadKernelError: the kernel process died (crash, os._exit, out of memory or a resource "
        "limit)")
SECTION_RAN = "plotting code runs"  # 1.4's check that its cells ran (rubrics/lab9.yaml)
LAYERS = "layers as specified"
SMALL_LIMITS = Limits(cpu_seconds=60, memory_bytes=2 * 2**30, max_processes=64)


# ============================================================================================
# Fixtures: the sandbox must work, bystanders must not change, one call grades a notebook
# ============================================================================================


@pytest.fixture(scope="module", autouse=True)
def _require_confinement() -> None:
    """Fail (not skip): these tests are about the sandbox, unconfined they would prove nothing."""
    reason = confinement_available()
    if reason is not None:
        pytest.fail(f"sandboxing is unavailable: {reason}")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Bystanders:
    """Another student's notebook and the results folder holding their report, as copies in tmp."""

    def __init__(self, root: Path) -> None:
        self.submission = root / "submissions" / "alice.ipynb"
        self.submission.parent.mkdir(parents=True)
        shutil.copyfile(REPO / "submissions" / "alice.ipynb", self.submission)
        self.out_dir = root / "out"
        self.out_dir.mkdir()
        (self.out_dir / "alice.json").write_text(json.dumps({"student": "alice", "score": 92.0}))
        (self.out_dir / "alice.html").write_text("<html>alice: 92 / 100</html>")
        self.files = [self.submission, *sorted(self.out_dir.iterdir())]
        self.before = self.hashes()

    def hashes(self) -> dict[Path, str]:
        return {p: sha256(p) for p in self.files}


@pytest.fixture(autouse=True)
def bystanders(tmp_path: Path) -> Iterator[Bystanders]:
    """Whatever a hostile notebook does, these files are byte-for-byte unchanged afterwards."""
    b = Bystanders(tmp_path / "others")
    yield b
    assert b.hashes() == b.before
    assert sorted(b.out_dir.iterdir()) == b.files[1:]


Grade = Callable[..., GradeResult]


def grade_confined(grade, path: Path, rubric, data, **kw) -> GradeResult:
    """Grade in the sandbox with small timeouts (unless given): a cell gets 20 s, the notebook 90 s."""
    kw.setdefault("cell_timeout", 20)
    kw.setdefault("notebook_timeout", 90)
    result = grade(path, rubric, data, confine=True, **kw)
    print(verdicts(result))  # shown by `pytest -rA`: what the student reads
    assert isinstance(result, GradeResult)
    return result


@pytest.fixture
def grade_hostile(tmp_path: Path, grade, lab9_rubric, small_data) -> Grade:
    """`grade_hostile(cells or notebook, ids=("1.1", "1.2"), name=..., rubric=...,
    **GradeConfig fields)` -> GradeResult, graded confined."""

    def run(cells, ids=("1.1", "1.2"), name: str = "student",
            rubric=None, **kw) -> GradeResult:
        nb = cells if isinstance(cells, nbformat.NotebookNode) else build_notebook(cells)
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, str(path))
        return grade_confined(grade, path, rubric_with(rubric or lab9_rubric, ids), small_data,
                              **kw)

    return run


def assert_11_keeps_its_points(result: GradeResult) -> None:
    q = question(result, "1.1")
    assert (q.status, q.points) == ("pass", 10), verdicts(result)


def errors(result: GradeResult, qid: str) -> list[str]:
    """What the section's cells raised, as the report shows it: 'Name: message'."""
    return [f"{e.ename}: {e.evalue}" for e in question(result, qid).section.errors]


def messages(result: GradeResult, qid: str) -> list[str]:
    return [c.message for c in question(result, qid).checks]


def sandbox_processes(tag: str) -> list[str]:
    """The sandbox uid's processes whose working directory is a grading workdir named `tag`.

    Other graders (other tests, other users of this machine) may run sandboxes at the same time,
    under the same uid: only the workdir tells ours apart.
    """
    found = subprocess.run(["pgrep", "-u", str(SANDBOX_UID)], capture_output=True, text=True,
                           check=False)
    ours = []
    for pid in found.stdout.split():
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue  # already gone
        if Path(cwd).name.startswith(f"grade-{tag[:20]}-"):
            ours.append(f"{pid} in {cwd}")
    return ours


# ============================================================================================
# Hangs: a cell that never ends costs that cell; a kernel that never answers costs the rest
# ============================================================================================


def test_infinite_loop_times_out_and_later_cells_still_run_1_2(grade_hostile) -> None:
    cells = [H11, CORRECT_11, H12, ("code", "while True:\n    pass"), AFTER,
             ("code", "import time\ntime.sleep(10**6)"), CORRECT_12, *LATER_14]
    # 8 s: the limit is every cell's, and CORRECT_12 imports torch (3-4 s on a loaded machine)
    r = grade_hostile(cells, ("1.1", "1.2", "1.4"), cell_timeout=8)
    assert_11_keeps_its_points(r)
    assert errors(r, "1.2") == ["CellTimeoutError: the cell ran longer than 8 s and was stopped"] * 2
    q12 = question(r, "1.2")
    assert "the next cell ran" in q12.section.stdout
    assert q12.points == 10, verdicts(r)  # the model defined after both hangs is graded normally
    assert question(r, "1.4").section.stdout == "1.4 ran, X (75, 1, 20)\n"
    assert check_outcome(r, "1.4", SECTION_RAN).passed


def test_cell_timeout_under_a_second_still_stops_the_cell_1_2(grade_hostile) -> None:
    # nbclient reads a timeout of 0 as "no timeout": 0.5 s must not round down to it
    r = grade_hostile([H11, CORRECT_11, H12, ("code", "while True:\n    pass"), AFTER],
                      cell_timeout=0.5)
    assert_11_keeps_its_points(r)
    assert errors(r, "1.2") == ["CellTimeoutError: the cell ran longer than 1 s and was stopped"]
    assert "the next cell ran" in question(r, "1.2").section.stdout


SWALLOW = """
    while True:
        try:
            while True:
                pass
        except KeyboardInterrupt:
            pass  # the grader's interrupt is ignored: the kernel stays busy for good
    """
# The handout-style one-level `try: pass` loop is caught by the interrupt about half the time,
# between two `try`s; nesting the busy loop makes every interrupt land inside it.


def test_loop_swallowing_the_interrupt_costs_1_2_and_a_new_kernel_grades_1_4(
        grade_hostile, lab9_rubric) -> None:
    quick = lab9_rubric.model_copy(update={  # the kernel has 3 s, not 15, to answer again
        "execution": lab9_rubric.execution.model_copy(update={"interrupt_grace": 3})})
    cells = [H11, CORRECT_11, H12, ("code", SWALLOW), AFTER, *LATER_14]
    r = grade_hostile(cells, ("1.1", "1.2", "1.4"), rubric=quick, cell_timeout=3)
    assert_11_keeps_its_points(r)
    reason = "cell 3 timed out and the kernel did not respond afterwards"
    assert errors(r, "1.2") == ["CellTimeoutError: the cell ran longer than 3 s and was stopped"]
    q12 = question(r, "1.2")
    assert (q12.status, q12.points, q12.section.not_run_reason) == ("error", 0, reason)
    assert q12.section.stdout == ""  # the rest of 1.2 was skipped
    assert f"could not inspect the notebook: {reason}" in messages(r, "1.2")
    assert_graded_after_restart(r, "1.4", reason)


# ============================================================================================
# Resource bombs: memory, processes
# ============================================================================================


def test_memory_bombs_raise_memory_error_and_the_kernel_carries_on_1_2(grade_hostile) -> None:
    cells = [H11, CORRECT_11, H12,
             ("code", "x = bytearray(50 * 2**30)"),
             ("code", "hoard = []\nwhile True:\n    hoard.append(bytearray(10**7))"),
             ("code", "print('hoarded', len(hoard) > 10)"), *LATER_14]
    r = grade_hostile(cells, ("1.1", "1.2", "1.4"), limits=SMALL_LIMITS)
    assert_11_keeps_its_points(r)
    assert [e.split(":")[0] for e in errors(r, "1.2")] == ["MemoryError", "MemoryError"]
    q12 = question(r, "1.2")
    assert "hoarded True" in q12.section.stdout  # the bomb hit the limit, the kernel survived
    assert (q12.status, q12.points) == ("error", 0), verdicts(r)
    assert check_outcome(r, "1.4", SECTION_RAN).passed


def test_fork_bomb_hits_the_process_limit_and_leaves_no_process_behind_1_2(
        grade_hostile) -> None:
    name = f"forkbomb{uuid.uuid4().hex[:8]}"
    cells = [H11, CORRECT_11, H12, ("code", "import os\nwhile True:\n    os.fork()"), AFTER,
             *LATER_14]
    r = grade_hostile(cells, ("1.1", "1.2", "1.4"), name=name, limits=SMALL_LIMITS)
    assert_11_keeps_its_points(r)
    assert errors(r, "1.2") == ["BlockingIOError: [Errno 11] Resource temporarily unavailable"]
    assert "the next cell ran" in question(r, "1.2").section.stdout
    assert check_outcome(r, "1.4", SECTION_RAN).passed
    deadline = time.monotonic() + 10
    while sandbox_processes(name) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sandbox_processes(name) == []


# ============================================================================================
# A kernel that dies
# ============================================================================================


def assert_graded_after_restart(r: GradeResult, qid: str, reason: str) -> None:
    """`qid` ran on a fresh kernel that replayed 1.1 (its print shows X), and says so."""
    q = question(r, qid)
    assert check_outcome(r, qid, SECTION_RAN).passed, verdicts(r)  # (it draws no plot: partial)
    assert q.section.stdout == "1.4 ran, X (75, 1, 20)\n"
    assert f"graded after kernel restart 1 ({reason}, in question 1.2;" in q.section.note
    assert any(n.startswith(f"{reason}: question 1.2 is lost; a new kernel replayed cell 1 and")
               for n in r.notes), r.notes


CRASHES = {
    "os_exit": "import os\nos._exit(0)",
    "segfault": "import ctypes\nctypes.string_at(0)",
    "sigkill": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",  # as the OOM killer
}


@pytest.mark.parametrize("crash", list(CRASHES))
def test_dying_kernel_costs_only_1_2_and_a_new_kernel_grades_1_4(grade_hostile, crash) -> None:
    cells = [H11, CORRECT_11, H12, ("code", "print('before the crash')"), ("code", CRASHES[crash]),
             AFTER, CORRECT_12, *LATER_14]
    r = grade_hostile(cells, ("1.1", "1.2", "1.4"))
    assert_11_keeps_its_points(r)
    assert errors(r, "1.2") == [DEAD]
    reason = "the kernel died while running cell 4"
    q12 = question(r, "1.2")
    assert (q12.status, q12.points, q12.section.not_run_reason) == ("error", 0, reason)
    assert q12.section.stdout == "before the crash\n"  # cells 5 and 6 were skipped
    assert f"could not inspect the notebook: {reason}" in messages(r, "1.2")
    assert_graded_after_restart(r, "1.4", reason)
    assert r.notes[-1] == ("not run: cell(s) 5-6, which followed a kernel death in their "
                           "question's section")


def test_killing_the_kernels_parent_does_nothing_and_1_2_is_graded(grade_hostile) -> None:
    kill = """
        import os, signal
        for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGSTOP):
            os.kill(os.getppid(), sig)
        try:
            os.kill(-1, signal.SIGKILL)  # every process this uid may signal: none but its own
        except ProcessLookupError:
            print("nothing else to kill")
        """
    r = grade_hostile([H11, CORRECT_11, H12, ("code", kill), CORRECT_12, AFTER])
    assert_11_keeps_its_points(r)
    q12 = question(r, "1.2")
    assert (q12.status, q12.points) == ("pass", 10), verdicts(r)
    assert q12.section.stdout == "nothing else to kill\nthe next cell ran\n"
    assert r.notes == []


def test_a_kernel_dying_in_every_question_is_restarted_at_most_max_restarts_times(
        grade_hostile, lab9_rubric) -> None:
    once = lab9_rubric.model_copy(update={
        "execution": lab9_rubric.execution.model_copy(update={"max_restarts": 1})})
    crash = ("code", CRASHES["os_exit"])
    cells = [H11, CORRECT_11, H12, crash, H14, crash, ("code", "print('1.4 ran')")]
    r = grade_hostile(cells, ("1.1", "1.2", "1.4"), rubric=once)
    assert_11_keeps_its_points(r)
    for qid, cell in (("1.2", 3), ("1.4", 5)):
        q = question(r, qid)
        reason = f"the kernel died while running cell {cell}"
        assert (q.status, q.points, q.section.not_run_reason) == ("error", 0, reason), verdicts(r)
    assert r.notes[-1] == ("the kernel died while running cell 5; no kernel restart left (at most "
                           "1 per notebook)")


# ============================================================================================
# Output: floods are capped, forged outputs are never read
# ============================================================================================


def test_100_mb_of_output_is_dropped_with_a_notice_and_reports_stay_small_1_2(
        grade_hostile, tmp_path) -> None:
    cells = [H11, CORRECT_11, H12, ("code", "print('x' * 10**8)"),
             ("code", "for i in range(200_000):\n    print('y' * 100)"), AFTER, *LATER_14]
    r = grade_hostile(cells, ("1.1", "1.2", "1.4"))
    assert_11_keeps_its_points(r)
    notice = "[grader: output dropped: the notebook printed more than 20 MB]\n"
    q12 = question(r, "1.2")
    assert q12.section.stdout.startswith(notice) and len(q12.section.stdout) < 2000
    assert question(r, "1.4").section.stdout == notice
    assert check_outcome(r, "1.4", SECTION_RAN).passed
    json_path, html_path = write_reports(r, tmp_path / "reports")
    assert json_path.stat().st_size < 2**20 and html_path.stat().st_size < 2**20


def test_printing_a_lot_cannot_hide_that_a_cell_raised_1_4(grade_hostile) -> None:
    cells = [H11, CORRECT_11, H14, ("code", "print('x' * 3 * 10**7)\nraise ValueError('hidden?')")]
    r = grade_hostile(cells, ("1.1", "1.4"))
    assert errors(r, "1.4") == ["ValueError: hidden?"]
    assert not check_outcome(r, "1.4", SECTION_RAN).passed


def test_forged_saved_outputs_earn_nothing_1_2(grade_hostile) -> None:
    nb = build_notebook([H11, CORRECT_11, H12, ("code", "# trained on my laptop, see the output")])
    forged = nb.cells[-1]
    forged.execution_count = 12
    forged.outputs = [
        nbformat.v4.new_output("stream", name="stdout",
                               text="Epoch 500 had training loss 0.0095\naccuracy 0.995\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "0.995"}, execution_count=12),
    ]
    r = grade_hostile(nb)
    assert_11_keeps_its_points(r)
    q12 = question(r, "1.2")
    assert q12.section.stdout == ""  # outputs are produced by re-executing, never read
    assert (q12.status, q12.points) == ("fail", 0), verdicts(r)
    assert check_outcome(r, "1.2", LAYERS).message == (
        "running 'model' on the grader's inputs raised LookupError: name 'model' is not defined")


# ============================================================================================
# Snooping: files, the network, other students' files
# ============================================================================================

READ_CELL = """
    import glob
    targets = {targets!r}
    stolen = {{}}
    for path in targets:
        try:
            with open(path, "rb") as fh:
                stolen[path] = fh.read()
            print("READ", path)
        except OSError as exc:
            print("blocked", type(exc).__name__, path)
    for pattern in {patterns!r}:
        found = glob.glob(pattern)
        print("glob", len(found), pattern, *found)
        stolen.update(dict.fromkeys(found, b""))
    print("stolen", len(stolen))
    """

LIST_CELL = """
    import os
    for root, dirs, files in os.walk("."):
        for f in sorted(files):
            print("FILE", os.path.join(root, f))
    with np.load("mnist_train.npz") as train, np.load("mnist_test.npz") as test:
        print("SIZES", len(train["y"]), len(test["y"]))
    print("TMP", sorted(os.listdir("/tmp")))
    """

SOCKET_CELL = """
    import socket
    for address in [("127.0.0.1", 22), ("192.0.2.1", 80)]:  # 192.0.2.0/24: TEST-NET, never routed
        try:
            socket.create_connection(address, timeout=1).close()
            print("CONNECTED", address[0])
        except OSError as exc:
            print("no connection", address[0], type(exc).__name__)
    """

WRITE_CELL = """
    import os
    for path in {victims!r}:
        try:
            with open(path, "w") as fh:
                fh.write("{{}}")
            print("WROTE", path)
        except OSError as exc:
            print("write blocked", type(exc).__name__, path)
    try:  # the real submission: opened for appending, nothing written
        os.close(os.open({real!r}, os.O_WRONLY | os.O_APPEND))
        print("OPENED", {real!r})
    except OSError as exc:
        print("write blocked", type(exc).__name__, {real!r})
    # The same path can be made inside: it lands in the sandbox's private /tmp
    os.makedirs(os.path.dirname({victims[0]!r}), exist_ok=True)
    with open({victims[0]!r}, "w") as fh:
        fh.write("{{}}")
    print("private copy written", os.path.getsize({victims[0]!r}))
    """


@dataclass
class Snoop:
    result: GradeResult
    targets: list[str]
    patterns: list[str]
    victims: list[str]
    real: str
    sizes: tuple[int, int]

    def lines(self, prefix: str) -> list[str]:
        """The lines 1.2 printed that start with `prefix`."""
        return [line for line in question(self.result, "1.2").section.stdout.splitlines()
                if line.startswith(prefix)]


@pytest.fixture(scope="module")
def snoop(tmp_path_factory, grade, lab9_rubric, small_data, grade_cache_dir: Path) -> Snoop:
    """One notebook that reads, lists, connects and writes in 1.2, graded once for the tests below.

    It has bystanders of its own (the autouse ones are per test): checked here, after grading.
    """
    root = tmp_path_factory.mktemp("snoop")
    others = Bystanders(root / "others")
    cache_secret = grade_cache_dir / "secret-from-the-grader.txt"
    cache_secret.write_text("the grader's cache")
    real = REPO / "submissions" / "alice.ipynb"
    real_before = sha256(real)
    targets = [str(REPO / "rubrics" / "lab9.yaml"), str(REPO / "reference" / "lab9.py"),
               "../rubrics/lab9.yaml", "/work/shared/data/mnist/t10k-labels-idx1-ubyte.gz",
               str(cache_secret), str(others.out_dir / "alice.json")]
    patterns = ["../rubrics/*.yaml", "../../rubrics/*.yaml", str(REPO / "rubrics" / "*"),
                "/work/shared/data/mnist/*", f"{grade_cache_dir}/*", f"{grade_cache_dir}/*/*", f"{others.out_dir}/*"]
    victims = [str(others.submission), str(others.out_dir / "alice.json"),
               str(others.out_dir / "alice.html")]
    cells = [H11, CORRECT_11, H12,
             ("code", READ_CELL.format(targets=targets, patterns=patterns)),
             ("code", LIST_CELL), ("code", SOCKET_CELL),
             ("code", WRITE_CELL.format(victims=victims, real=str(real))),
             CORRECT_12]
    path = root / "snooper.ipynb"
    nbformat.write(build_notebook(cells), str(path))
    result = grade_confined(grade, path, rubric_with(lab9_rubric, ["1.1", "1.2"]), small_data)
    assert sha256(real) == real_before
    assert others.hashes() == others.before
    return Snoop(result, targets, patterns, victims, str(real),
                 (small_data.train.size, small_data.test.size))


def test_snooping_notebook_is_graded_normally_1_1_1_2(snoop) -> None:
    assert_11_keeps_its_points(snoop.result)
    q12 = question(snoop.result, "1.2")
    assert (q12.status, q12.points, q12.section.errors) == ("pass", 10, []), verdicts(snoop.result)


def test_rubric_reference_data_cache_and_results_cannot_be_read_1_2(snoop) -> None:
    assert snoop.lines("READ") == []
    blocked = snoop.lines("blocked")
    assert [line.split(" ", 2)[2] for line in blocked] == snoop.targets
    assert {line.split()[1] for line in blocked} <= {"FileNotFoundError", "PermissionError"}
    assert snoop.lines("glob") == [f"glob 0 {p}" for p in snoop.patterns]
    assert snoop.lines("stolen") == ["stolen 0"]


def test_workdir_holds_only_the_provisioned_data_no_hidden_labels_1_2(snoop) -> None:
    assert snoop.lines("FILE") == ["FILE ./mnist_test.npz", "FILE ./mnist_train.npz"]
    train, test = snoop.sizes
    assert snoop.lines("SIZES") == [f"SIZES {train} {test}"]  # not the held-out split
    (tmp,) = snoop.lines("TMP")
    listed = ast.literal_eval(tmp.removeprefix("TMP "))
    others = [n for n in listed if n.startswith("grade-") and not n.startswith("grade-snooper-")]
    assert others == [], listed  # no other student's working directory is visible


def test_no_connection_to_loopback_or_outside_1_2(snoop) -> None:
    assert snoop.lines("CONNECTED") == []
    assert [line.rsplit(" ", 1)[0] for line in snoop.lines("no connection")] == [
        "no connection 127.0.0.1", "no connection 192.0.2.1"]


def test_other_submissions_and_results_cannot_be_written_1_2(snoop) -> None:
    assert snoop.lines("WROTE") == [] and snoop.lines("OPENED") == []
    blocked = snoop.lines("write blocked")
    assert [line.split(" ", 3)[3] for line in blocked] == [*snoop.victims, snoop.real]
    assert {line.split()[2] for line in blocked} <= {"FileNotFoundError", "PermissionError"}
    # what it could write went to its private /tmp; the fixture checked the real files
    assert snoop.lines("private copy written") == ["private copy written 2"]


# ============================================================================================
# Lies: patched libraries, objects that lie about their values and types
# ============================================================================================

SABOTAGE = """
    import builtins
    import json
    np.array = lambda *args, **kwargs: np.zeros(3)
    builtins.print = lambda *args, **kwargs: None
    json.dump = lambda obj, fh, *args, **kwargs: fh.write('{"forged": {"ok": true}}')
    np.savez = lambda *args, **kwargs: None
    print("this print is swallowed")
    """


def test_patched_numpy_json_and_print_cannot_forge_answers_and_cost_only_1_2(grade_hostile) -> None:
    r = grade_hostile([H11, CORRECT_11, H12, CORRECT_12, ("code", SABOTAGE)])
    assert_11_keeps_its_points(r)
    q12 = question(r, "1.2")
    # The kernel side serialises with its own json/numpy references, taken before any student cell:
    # the answers describe the real model, not the forged JSON the patched json.dump writes.
    assert check_outcome(r, "1.2", LAYERS).passed, verdicts(r)
    assert check_outcome(r, "1.2", "seeded untrained predictions").passed, verdicts(r)
    # the grader-chosen weights come from the grader's own generator, not numpy.random
    assert check_outcome(r, "1.2", "computes the specified architecture").passed, verdicts(r)
    assert (q12.status, q12.points) == ("pass", 10), verdicts(r)
    assert q12.section.stdout == ""


FORGERIES = {
    # every model answers what the reference would: a patched Module.__call__
    "patched_module_call": """
        import torch
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Conv1d(1, 3, 5, padding=2), torch.nn.ReLU(),
                                    torch.nn.MaxPool1d(20), torch.nn.Flatten(),
                                    torch.nn.Linear(3, 1), torch.nn.Linear(1, 1))
        torch.nn.Module.__call__ = lambda self, x: torch.zeros(len(x), 1)
        """,
    # a model whose parameters() and named_modules() describe the reference, but computes nothing
    "lying_parameters": """
        import torch
        torch.manual_seed(0)
        reference_like = torch.nn.Sequential(
            torch.nn.Conv1d(1, 3, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool1d(20),
            torch.nn.Flatten(), torch.nn.Linear(3, 1))

        class Liar(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.w = torch.nn.Parameter(torch.zeros(7))
            def parameters(self, recurse=True):
                return reference_like.parameters()
            def named_modules(self, *args, **kwargs):
                return reference_like.named_modules(*args, **kwargs)
            def forward(self, x):
                return torch.zeros(len(x), 1) + self.w.sum()

        model = Liar()
        """,
    # a tensor subclass that answers every question with the values expected
    "lying_tensor_outputs": """
        import torch

        class Agreeable(torch.Tensor):
            def numpy(self):
                return np.zeros((75, 1), np.float32)
            def argmax(self, *args, **kwargs):
                return torch.zeros(75, dtype=torch.long)

        class Model(torch.nn.Module):
            def forward(self, x):
                return torch.zeros(len(x), 1).as_subclass(Agreeable)

        model = Model()
        """,
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_forged_model_answers_earn_no_behaviour_points_1_2(grade_hostile, forgery) -> None:
    r = grade_hostile([H11, CORRECT_11, H12, ("code", FORGERIES[forgery])])
    assert_11_keeps_its_points(r)
    for name in ("layers as specified", "computes the specified architecture",
                 "seeded untrained predictions"):
        assert not check_outcome(r, "1.2", name).passed, verdicts(r)
    assert question(r, "1.2").points == 0, verdicts(r)


ARRAY_LIARS = """
    class Lying(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(other), bool)
        def tolist(self):
            return X_true.tolist()
        def __array__(self, *args, **kwargs):
            return X_true
        def item(self, *args):
            return 1.0

    X_true = X
    X = np.zeros((75, 1, 20), np.float32).view(Lying)  # says it equals anything
    """


def test_ndarray_subclass_lying_in_eq_tolist_and_array_earns_nothing_1_1(grade_hostile) -> None:
    r = grade_hostile([H11, CORRECT_11, ("code", ARRAY_LIARS), H12, CORRECT_12])
    assert not check_outcome(r, "1.1", "X equals the seeded data set").passed, verdicts(r)
    assert check_outcome(r, "1.1", "y equals the seeded targets").passed, verdicts(r)
    assert question(r, "1.2").points == 10, verdicts(r)


def test_torch_imported_past_the_grader_s_import_watch_cannot_be_inspected_1_2(
        grade_hostile) -> None:
    bypass = """
        import sys
        sys.meta_path[:] = [f for f in sys.meta_path if "Watch" not in type(f).__name__]
        """
    r = grade_hostile([H11, CORRECT_11, H12, ("code", bypass), CORRECT_12])
    assert_11_keeps_its_points(r)
    assert question(r, "1.2").points == 0, verdicts(r)
    assert "past the grader's import watch" in check_outcome(r, "1.2", LAYERS).message


LIARS = """
    import torch

    class AlwaysEqual:
        shape, dtype = (75, 1, 20), np.float32
        def __eq__(self, other):
            return True
        def __len__(self):
            return 75
        def __array__(self, *args, **kwargs):
            return np.ones(self.shape, np.float32)

    class LyingTensor(torch.Tensor):
        @property
        def __class__(self):
            return np.ndarray  # isinstance(y, np.ndarray) is True
        def __eq__(self, other):
            return torch.ones(75, 1, dtype=torch.bool)

    X = AlwaysEqual()
    y = torch.zeros(75, 1).as_subclass(LyingTensor)
    """


def test_objects_lying_about_value_and_type_earn_nothing_and_1_2_is_unaffected_1_1(
        grade_hostile) -> None:
    r = grade_hostile([H11, CORRECT_11, ("code", LIARS), H12, CORRECT_12])
    q11 = question(r, "1.1")
    assert q11.points == 0 and q11.status in ("fail", "error"), verdicts(r)
    assert "'X'" in check_outcome(r, "1.1", "X equals the seeded data set").message
    q12 = question(r, "1.2")
    assert (q12.status, q12.points) == ("pass", 10), verdicts(r)


STUCK_MODEL = """
    import time

    class Stuck(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner
        def forward(self, x):
            while True:
                try:
                    time.sleep(1)
                except KeyboardInterrupt:
                    pass  # ignores the grader's interrupt too

    model = Stuck(model)
    """


def test_model_whose_forward_never_returns_costs_1_2_and_a_new_kernel_grades_1_4(
        grade_hostile, lab9_rubric) -> None:
    quick = lab9_rubric.model_copy(update={
        "execution": lab9_rubric.execution.model_copy(update={"probe_timeout": 3})})
    cells = [H11, CORRECT_11, H12, CORRECT_12, ("code", STUCK_MODEL), *LATER_14]
    r = grade_hostile(cells, ("1.1", "1.2", "1.4"), rubric=quick)
    assert_11_keeps_its_points(r)
    q12 = question(r, "1.2")
    assert (q12.status, q12.points) == ("error", 0), verdicts(r)
    assert messages(r, "1.2") == [
        "could not inspect the notebook: inspecting the notebook's state timed out after 3 s"] * 3
    reason = "the kernel stopped responding while the grader inspected it"
    # every cell ran well: the new kernel replays all of them, the stuck model included
    assert any(n.startswith(f"{reason}: question 1.2 is lost; a new kernel replayed cells 1, 3-4 ")
               for n in r.notes), r.notes
    assert question(r, "1.4").section.stdout == "1.4 ran, X (75, 1, 20)\n"
    assert check_outcome(r, "1.4", SECTION_RAN).passed, verdicts(r)


FORGED_ANSWER = """
    import json
    real_dump = json.dump
    LAYERS = [("Conv1d", {"in_channels": 1, "out_channels": 3, "kernel_size": [5], "stride": [1],
                          "padding": [2]}),
              ("ReLU", {}), ("MaxPool1d", {"kernel_size": 20, "stride": 20, "padding": 0}),
              ("Flatten", {}), ("Linear", {"in_features": 3, "out_features": 1})]

    def forged_dump(answer, fh, *args, **kwargs):
        for key, item in answer.items():
            if key.startswith("0:"):  # the first check's probe: describe a model that is not there
                item.clear()
                item.update(ok=True, type="Sequential", kind="module", module={
                    "class": "Sequential", "training": True, "n_params": 22,
                    "param_shapes": [[3, 1, 5], [3], [1, 3], [1]],
                    "layers": [{"path": str(i), "type": t, "attrs": a, "bias": None}
                               for i, (t, a) in enumerate(LAYERS)]})
        return real_dump(answer, fh, *args, **kwargs)

    json.dump = forged_dump
    model = "no model at all"
    """


def test_forged_probe_answer_without_a_model_earns_nothing_1_2(grade_hostile) -> None:
    r = grade_hostile([H11, CORRECT_11, H12, ("code", FORGED_ANSWER)])
    assert_11_keeps_its_points(r)
    assert question(r, "1.2").points == 0, verdicts(r)


# ============================================================================================
# Not a notebook, an old notebook, an empty one, one without headings
# ============================================================================================


def _write_raw(path: Path, payload: bytes | str) -> Path:
    if isinstance(payload, str):
        payload = payload.encode()
    path.write_bytes(payload)
    return path


UNUSABLE = {
    "not_json": (b"print('hello')\n", "not a notebook: invalid JSON (line 1, column 1)"),
    "empty": (b"", "the file is empty"),
    "whitespace": (b"  \n\n", "the file is empty"),
    "binary": (bytes(range(256)) * 4, "not a notebook: invalid JSON"),
    "json_list": (b"[1, 2, 3]", "not a notebook: JSON without an 'nbformat' field"),
    "no_nbformat": (b'{"cells": []}', "not a notebook: JSON without an 'nbformat' field"),
    "cells_not_a_list": (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": 7}',
                         "not a readable notebook: 'int' object is not iterable"),
    "unknown_cell_type": (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                      "cells": [{"cell_type": "weird", "id": "a", "source": "",
                                                 "metadata": {}}]}).encode(),
                          "invalid notebook structure: "),
    "future_version": (b'{"nbformat": 99, "nbformat_minor": 0, "metadata": {}, "cells": []}',
                       "not a readable notebook: Unsupported nbformat version 99"),
}


@pytest.mark.parametrize("kind", list(UNUSABLE))
def test_unusable_file_is_fatal_naming_the_file(kind, tmp_path, grade, lab9_rubric,
                                                small_data) -> None:
    payload, said = UNUSABLE[kind]
    path = _write_raw(tmp_path / f"{kind}.ipynb", payload)
    r = grade(path, rubric_with(lab9_rubric, ["1.1", "1.2"]), small_data, confine=True)
    assert r.fatal.startswith(f"{path}: ") and said in r.fatal, r.fatal
    for q in r.questions:
        assert (q.status, q.points, q.section.not_run_reason) == ("error", 0, r.fatal)


def test_nbformat_v3_notebook_is_upgraded_and_graded_1_1_1_2(tmp_path, grade, lab9_rubric,
                                                             small_data) -> None:
    v3 = nbformat.v3
    code11, code12 = (build_notebook([cell]).cells[0].source for cell in (CORRECT_11, CORRECT_12))
    nb = v3.new_notebook(worksheets=[v3.new_worksheet(cells=[
        v3.new_heading_cell("Exercise 1.1 – Build a synthetic 1D data set", level=2),
        v3.new_code_cell(input=code11, language="python"),
        v3.new_text_cell("markdown", source="## Exercise 1.2 – Define a ConvNet"),
        v3.new_code_cell(input=code12, language="python"),
    ])], metadata=v3.new_metadata(name="old"))
    path = tmp_path / "old.ipynb"
    path.write_text(nbformat.writes(nb, version=3))
    assert json.loads(path.read_text())["nbformat"] == 3 and "worksheets" in path.read_text()
    r = grade_confined(grade, path, rubric_with(lab9_rubric, ["1.1", "1.2"]), small_data)
    assert not r.fatal
    assert_11_keeps_its_points(r)
    assert question(r, "1.2").points == 10, verdicts(r)


def test_notebook_without_code_cells_fails_every_question_saying_what_is_missing(
        grade_hostile) -> None:
    r = grade_hostile([H11, ("md", "I thought about it."), H12])
    assert not r.fatal
    for qid in ("1.1", "1.2"):
        q = question(r, qid)
        assert (q.status, q.points) == ("fail", 0), verdicts(r)
    assert check_outcome(r, "1.1", "X equals the seeded data set").message.startswith(
        "no 'X' found at the end of the section")
    assert "name 'model' is not defined" in check_outcome(r, "1.2", LAYERS).message


def test_notebook_without_headings_is_graded_at_the_end_with_a_note(grade_hostile) -> None:
    r = grade_hostile([CORRECT_11, CORRECT_12])
    assert_11_keeps_its_points(r)
    assert question(r, "1.2").points == 10, verdicts(r)
    for qid, heading in (("1.1", "Exercise 1.1"), ("1.2", "Exercise 1.2")):
        assert question(r, qid).section.note == (
            f"heading '{heading}' not found in the notebook: graded on the state at the end of "
            "the notebook")


# ============================================================================================
# A kernel that never starts
# ============================================================================================


NO_EXECUTABLE = ("the kernel did not start: FileNotFoundError: [Errno 2] No such file or "
                 "directory: '/nonexistent/python3'")
NO_ANSWER = "the kernel did not start: RuntimeError: Kernel didn't respond in 2 seconds"


@pytest.mark.parametrize("command, said", [(["/nonexistent/python3"], NO_EXECUTABLE),
                                           (["sleep", "97.3"], NO_ANSWER)],
                         ids=["missing_executable", "never_answers"])
def test_kernel_that_never_starts_is_fatal_for_every_question(
        command, said, monkeypatch, grade_hostile, lab9_rubric) -> None:
    from jupyter_client.manager import AsyncKernelManager

    class NeverStarts(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return list(command)

    monkeypatch.setattr(kernel_module, "_make_kernel_manager",
                        lambda config, runtime_dir: NeverStarts(kernel_name="python3"))
    quick = lab9_rubric.model_copy(update={
        "execution": lab9_rubric.execution.model_copy(update={"startup_timeout": 2})})
    r = grade_hostile([H11, CORRECT_11, H12, CORRECT_12], rubric=quick)
    assert r.fatal == said
    for q in r.questions:
        assert (q.status, q.points, q.section.not_run_reason) == ("error", 0, said)
    left = subprocess.run(["pgrep", "-f", " ".join(command)], capture_output=True, text=True,
                          check=False)
    assert left.stdout == ""  # the would-be kernel was stopped


# ============================================================================================
# Disk: a notebook has a bounded space; the grader's disk never sees it
# ============================================================================================

FILL_DISK = """
    import os
    written = {}
    for folder in (".", "/tmp", "/dev/shm"):
        written[folder] = 0
        try:
            for i in range(3000):  # 3 GiB each, were there no limit
                with open(os.path.join(folder, f"fill{i}.bin"), "wb") as fh:
                    fh.write(b"x" * 2**20)
                written[folder] += 1
        except OSError as exc:
            print(folder, "stopped", exc.errno, flush=True)
    print(sum(written.values()) <= 64, flush=True)
    with open("last.bin", "wb") as fh:
        fh.write(b"x" * 2**20)
    """


def test_notebook_filling_its_disk_gets_enospc_and_the_host_disk_is_untouched_1_2(
        grade_hostile, tmp_path) -> None:
    free_before = shutil.disk_usage(tmp_path).free
    cells = [H11, CORRECT_11, H12, ("code", FILL_DISK), CORRECT_12, *LATER_14]
    quota = Limits(cpu_seconds=60, max_processes=64, disk_bytes=64 * 2**20)
    r = grade_hostile(cells, ("1.1", "1.2", "1.4"), limits=quota)
    # other engineers share this disk: allow them 1 GiB, far less than the 9 GiB asked for
    assert free_before - shutil.disk_usage(tmp_path).free < 2**30
    assert_11_keeps_its_points(r)
    q12 = question(r, "1.2")
    assert q12.section.stdout == "\n".join(f"{f} stopped 28" for f in (".", "/tmp", "/dev/shm")) \
        + "\nTrue\n"
    assert errors(r, "1.2") == ["OSError: [Errno 28] No space left on device"]
    assert (q12.status, q12.points) == ("pass", 10), verdicts(r)  # the model after it is graded
    assert r.notes == [("the notebook hit its disk limit in cell 3: 64 MB for its folder, /tmp "
                        "and /dev/shm together (the rubric's limits.disk_mb)")]
    assert check_outcome(r, "1.4", SECTION_RAN).passed, verdicts(r)
