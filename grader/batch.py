"""Batch stage: a class of notebooks -> one gradebook, on local worker processes or on Dask.

Takes the paths given to `grade` (folders, globs, files) and a `BatchOptions`; returns a
`BatchSummary`. The steps, in order:

1. discover: each notebook and its student (`alice.ipynb` -> alice, or `alice/hw2.ipynb` -> alice);
2. plan: per student, skip (notebook, rubric, grader version and settings unchanged since the
   gradebook's row), execute, or re-score from the cached execution (`--rescore`; the rule is in
   grader/store.py);
3. run: each execution is one task, `grade_task(settings, job)` = `execute_notebook` +
   `score_execution`, on a pool of worker processes (each task starts its own kernel) or on Dask
   workers; the task gets the notebook's bytes, so workers need no access to the class's files;
4. record: this process alone writes, as each result arrives: the execution cache, the reports
   (`<student>.json` / `.html`), the gradebook row (one transaction) and Gradescope's results.json;
   at the end `grades.csv`.

A failure never stops the batch: an unreadable notebook or a kernel that cannot start is a result
with `fatal` set ("failed to grade"); an exception in a worker, or a worker that dies, is recorded as
the grader's own failure for that student and retried on the next run.

Running on a cluster: `grade submissions/ --dask tcp://scheduler:8786` sends the tasks to an existing
Dask scheduler. Every worker needs this repository's environment (`./setup.sh`: the venv, and
bubblewrap for the sandbox; the sandbox needs the worker to run as root), one thread per worker
process (`dask worker tcp://scheduler:8786 --nworkers 8 --nthreads 1`), and `--data` readable at the
same path when it is given (the default data ship with scikit-learn). With dask-jobqueue:

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, processes=8, memory="64GB", walltime="02:00:00",
                           python="/path/to/repo/.venv/bin/python")
    cluster.scale(jobs=4)
    print(cluster.scheduler_address)   # pass to `grade --dask ...` while this stays running
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import logging
import multiprocessing
import os
import pickle
import socket
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from grader.data import DataBundle, DataError, load_data
from grader.exports import write_grades_csv, write_gradescope
from grader.pipeline import (
    GRADER_VERSION,
    Execution,
    GradeConfig,
    execute_notebook,
    score_execution,
)
from grader.report import safe_name, write_reports
from grader.results import GradeResult
from grader.rubric import Rubric, RubricError, parse_rubric
from grader.store import (
    CacheHeader,
    ExecutionCache,
    Gradebook,
    GradebookError,
    Provenance,
    SubmissionRow,
    describe_key_change,
    describe_plan_change,
    execution_key,
    now_iso,
    plan_signatures,
    question_plan,
    reference_source_sha256,
    settings_sha256,
)

Identity = Literal["file", "folder"]
WORKER_LOG = "workers.log"
NO_CACHE = "no cached execution (never executed into this --out folder, or the grader failed on it)"


class BatchInputError(ValueError):
    """Input the batch cannot use (no notebooks, a bad roster, a refused re-score): exit 2."""


# -- discovery ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Submission:
    student: str
    path: Path


def _visible(paths: Iterable[Path]) -> list[Path]:
    return sorted(p for p in paths if p.is_file() and not p.name.startswith(".")
                  and ".ipynb_checkpoints" not in p.parts)


def _glob_root(pattern: str) -> Path:
    """The folder a glob was given relative to: its longest prefix without wildcards."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if any(c in part for c in "*?["):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def student_of(notebook: Path, root: Path, identity: Identity | None) -> str:
    """`alice.ipynb` -> alice (file), `alice/hw2.ipynb` -> alice (folder); None: folder when the
    notebook is not directly in the folder that was given."""
    if identity is None:
        identity = "file" if notebook.parent.resolve() == root.resolve() else "folder"
    return notebook.parent.resolve().name if identity == "folder" else notebook.stem


def discover(paths: Sequence[Path], identity: Identity | None = None) -> list[Submission]:
    """Expand folders (their *.ipynb, else <student>/*.ipynb), globs and files into submissions."""
    found: list[tuple[Path, Path]] = []
    for p in paths:
        if p.is_dir():
            notebooks = _visible(p.glob("*.ipynb")) or _visible(p.glob("*/*.ipynb"))
            found += [(nb, p) for nb in notebooks]
        elif p.is_file():
            found.append((p, p.parent))
        elif any(c in str(p) for c in "*?["):
            matches = _visible(Path(m) for m in glob.glob(str(p), recursive=True)
                               if m.endswith(".ipynb"))
            if not matches:
                raise BatchInputError(f"{p}: no notebooks match this pattern")
            found += [(nb, _glob_root(str(p))) for nb in matches]
        else:
            raise BatchInputError(f"{p}: no such file or folder")
    if not found:
        raise BatchInputError("no .ipynb notebooks found in " + ", ".join(map(str, paths)))
    by_student: dict[str, Path] = {}
    for nb, root in found:
        student = student_of(nb, root, identity)
        other = by_student.get(student)
        if other is not None and other.resolve() != nb.resolve():
            raise BatchInputError(
                f"two notebooks for student '{student}': {other} and {nb}; grade one of them "
                "(name it, or use a glob such as 'submissions/*/hw2.ipynb'), or choose "
                "--identity file")
        by_student[student] = nb
    return [Submission(s, p) for s, p in by_student.items()]


def read_roster(path: Path) -> list[str]:
    """Student names from a CSV file with a `student` column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BatchInputError(f"{path}: cannot read the roster: {exc.strerror}") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = {name.strip().lower(): name for name in reader.fieldnames or []}
    if "student" not in columns:
        raise BatchInputError(f"{path}: a roster is a CSV file with a 'student' column "
                              f"(this one has: {', '.join(reader.fieldnames or []) or 'none'})")
    names = [(row.get(columns["student"]) or "").strip() for row in reader]
    return list(dict.fromkeys(n for n in names if n))


# -- the per-submission task (runs in a worker) ------------------------------------------------
@dataclass(frozen=True)
class WorkerSettings:
    """What every worker needs to build the same `GradeConfig`: plain values, cheap to send."""

    rubric_text: str
    rubric_path: str
    data_dir: str | None
    train_limit: int | None
    cell_timeout: float | None
    notebook_timeout: float | None
    confine: bool
    reference_cache: str | None


@dataclass(frozen=True)
class Job:
    student: str
    path: str  # as given; reports and the gradebook show it
    sha256: str  # of `content`; '' when the grader could not read the file
    content: bytes | None


@dataclass
class Outcome:
    student: str
    result: GradeResult | None
    execution: Execution | None
    error: str  # the grader's own failure, when `result` is None
    worker: str
    seconds: float


_CONFIGS: dict[WorkerSettings, GradeConfig] = {}  # per worker process: rubric and data built once


def worker_config(settings: WorkerSettings) -> GradeConfig:
    config = _CONFIGS.get(settings)
    if config is None:
        rubric = parse_rubric(settings.rubric_text, Path(settings.rubric_path))
        data = load_data(Path(settings.data_dir) if settings.data_dir else None,
                         train_limit=settings.train_limit)
        config = GradeConfig(
            rubric=rubric, data=data,
            cache_dir=Path(settings.reference_cache) if settings.reference_cache else None,
            cell_timeout=settings.cell_timeout, notebook_timeout=settings.notebook_timeout,
            confine=settings.confine,
        )
        _CONFIGS[settings] = config
    return config


def limit_kernel_threads(threads: int) -> None:
    """Thread limits for unconfined kernels, which inherit this worker process's environment.

    (A confined kernel gets its whole environment from the sandbox, limits included.)
    """
    from grader.sandbox.confine import THREAD_ENV_VARS

    for name in THREAD_ENV_VARS:
        os.environ[name] = str(threads)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def grade_task(settings: WorkerSettings, job: Job) -> Outcome:
    """Execute and score one notebook; never raises (a grader failure is in `Outcome.error`)."""
    start = time.perf_counter()
    try:
        config = worker_config(settings)
        if not settings.confine:
            limit_kernel_threads(config.rubric.limits.threads)
        execution = _execute_job(job, config)
        result = score_execution(execution, config)
    except Exception as exc:  # noqa: BLE001  (a grader bug must cost one student, not the class)
        return Outcome(job.student, None, None, f"the grader failed: {type(exc).__name__}: {exc}",
                       worker_name(), time.perf_counter() - start)
    return Outcome(job.student, result, execution, "", worker_name(),
                   time.perf_counter() - start)


def _execute_job(job: Job, config: GradeConfig) -> Execution:
    if job.content is None:
        return execute_notebook(Path(job.path), config, job.student)
    with tempfile.TemporaryDirectory(prefix="grade-nb-") as tmp:
        copy = Path(tmp) / Path(job.path).name
        copy.write_bytes(job.content)
        execution = execute_notebook(copy, config, job.student)
    execution.notebook = job.path
    execution.fatal = execution.fatal.replace(str(copy), job.path)
    return execution


def make_job(submission: Submission) -> Job:
    try:
        content = submission.path.read_bytes()
    except OSError:
        return Job(submission.student, str(submission.path), "", None)
    return Job(submission.student, str(submission.path), hashlib.sha256(content).hexdigest(),
               content)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


# -- options, plan, summary --------------------------------------------------------------------
@dataclass(frozen=True)
class BatchOptions:
    paths: tuple[Path, ...]
    rubric_path: Path
    out_dir: Path
    data_dir: Path | None = None
    train_limit: int | None = None
    cell_timeout: float | None = None
    notebook_timeout: float | None = None
    reference_cache: Path | None = None
    confine: bool = True
    workers: int | None = None  # None: one per core
    force: bool = False
    rescore: bool = False
    dask: str | None = None  # a scheduler address, or "local"
    identity: Identity | None = None
    roster: Path | None = None


Action = Literal["skip", "execute", "rescore"]


@dataclass
class Planned:
    submission: Submission
    action: Action
    previous: SubmissionRow | None = None


@dataclass
class StudentLine:
    student: str
    status: str  # graded, failed, missing
    how: str  # executed, rescored, skipped, ''
    score: float | None
    max_score: float
    seconds: float
    note: str = ""


@dataclass
class BatchSummary:
    assignment: str
    out_dir: Path
    lines: list[StudentLine] = field(default_factory=list)
    not_on_roster: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    def count(self, status: str | None = None, how: str | None = None) -> int:
        return sum((status is None or x.status == status) and (how is None or x.how == how)
                   for x in self.lines)

    @property
    def exit_code(self) -> int:
        """1 when a submission of this run stands as failed to grade (new or unchanged), else 0."""
        return 1 if self.count("failed") else 0

    def headline(self) -> str:
        n = len([x for x in self.lines if x.status != "missing"])
        skipped = self.count(how="skipped")
        failed_skipped = self.count("failed", "skipped")
        text = (f"{n} submissions: {self.count('graded') - self.count('graded', 'skipped')} "
                f"graded, {self.count('failed') - failed_skipped} failed to grade, {skipped} "
                "skipped (unchanged since the last run"
                + (f"; {failed_skipped} of them had failed to grade" if failed_skipped else "")
                + ")")
        if self.count(how="rescored"):
            text += (f"; {self.count(how='rescored')} of them re-scored from cached executions "
                     "(no notebook ran)")
        if self.count("missing"):
            text += f"; {self.count('missing')} on the roster without a submission"
        if self.not_on_roster:
            text += f"; {len(self.not_on_roster)} not on the roster"
        return text + f". {self.wall_seconds:.1f} s."


def plan_batch(submissions: list[Submission], gradebook: Gradebook, cache: ExecutionCache,
               options: BatchOptions, rubric: Rubric, key: dict, settings_sha: str) -> list[Planned]:
    """Decide per submission: skip, execute or re-score; refuse a re-score that is not possible."""
    planned: list[Planned] = []
    problems: dict[str, list[str]] = {}
    plans = {q.id: question_plan(q) for q in rubric.questions}
    for sub in submissions:
        previous = gradebook.submission(sub.student)
        if options.rescore:
            why = rescore_problems(sub, cache, key, plans, rubric)
            if not why:
                planned.append(Planned(sub, "rescore", previous))
                continue
            if not options.force:
                for sentence in why:
                    problems.setdefault(sentence, []).append(sub.student)
            planned.append(Planned(sub, "execute", previous))
            continue
        unchanged = (previous is not None and not options.force and not previous.grader_error
                     and previous.notebook_sha256 == file_sha256(sub.path)
                     and previous.rubric_sha256 == rubric.sha256
                     and previous.grader_version == GRADER_VERSION
                     and previous.settings_sha256 == settings_sha)
        planned.append(Planned(sub, "skip" if unchanged else "execute", previous))
    if problems:
        lines = []
        for sentence, students in problems.items():
            who = ", ".join(students[:5]) + (f" and {len(students) - 5} more"
                                             if len(students) > 5 else "")
            lines.append(f"  {sentence} ({who})")
        raise BatchInputError(
            "cannot re-score from the cached executions:\n" + "\n".join(lines) + "\n"
            "Run without --rescore to execute the notebooks again, or add --force to re-execute "
            "only these and re-score the rest.")
    return planned


def rescore_problems(sub: Submission, cache: ExecutionCache, key: dict,
                     plans: dict[str, dict], rubric: Rubric) -> list[str]:
    """Why this submission's cached execution cannot be scored against `rubric` ([] if it can)."""
    header = cache.header(sub.student)
    if header is None:
        return [NO_CACHE]
    if header.notebook_sha256 != file_sha256(sub.path):
        return ["the notebook changed since it was executed"]
    if header.execution_key != key:
        return [describe_key_change(header.execution_key, key)]
    out = []
    for q in rubric.questions:
        old = header.plans.get(q.id)
        if old != plans[q.id]:
            out.append(describe_plan_change(q.id, old, plans[q.id], [c.name for c in q.checks]))
    return out


# -- progress ----------------------------------------------------------------------------------
class Display:
    """Live progress on stderr (done/total, who is running, elapsed, ETA); one line per result."""

    def __init__(self, total: int, console: Console) -> None:
        self.console = console
        self.total = total
        self.done = 0
        self.running: list[str] = []
        self.progress: Progress | None = None
        if console.is_terminal and total:
            self.progress = Progress(
                SpinnerColumn(), TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                TextColumn("{task.fields[current]}"), console=console, transient=True)
            self.task = self.progress.add_task("grading", total=total, current="")

    def __enter__(self) -> Self:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def _refresh(self) -> None:
        if self.progress is not None:
            shown = ", ".join(self.running[:4]) + (f" +{len(self.running) - 4}"
                                                   if len(self.running) > 4 else "")
            self.progress.update(self.task, completed=self.done, current=shown)

    def started(self, student: str) -> None:
        self.running.append(student)
        self._refresh()

    def finished(self, line: StudentLine) -> None:
        if line.student in self.running:
            self.running.remove(line.student)
        self.done += 1
        score = "" if line.score is None else f" {line.score:.4g}/{line.max_score:g}"
        colour = "green" if line.status == "graded" else "red"
        note = f": {line.note[:120]}" if line.note else ""
        self.console.print(f"[{self.done}/{self.total}] {line.student}: [{colour}]{line.status}"
                           f"[/]{score} ({line.how}, {line.seconds:.1f} s){note}",
                           highlight=False, soft_wrap=True)
        self._refresh()


# -- recording ---------------------------------------------------------------------------------
class Recorder:
    """Writes every result this batch produces; the only writer of the gradebook and the cache."""

    def __init__(self, gradebook: Gradebook, cache: ExecutionCache, out_dir: Path,
                 config: GradeConfig, key: dict, settings_sha: str, display: Display,
                 summary: BatchSummary) -> None:
        self.gradebook, self.cache, self.out_dir, self.config = gradebook, cache, out_dir, config
        self.key, self.settings_sha = key, settings_sha
        self.plans = {q.id: question_plan(q) for q in config.rubric.questions}
        self.plan_shas = plan_signatures(config.rubric)
        self.display, self.summary = display, summary

    def provenance(self, worker: str, executed_at: str) -> Provenance:
        return Provenance(self.config.rubric.sha256, self.settings_sha, GRADER_VERSION,
                          self.plan_shas, worker, executed_at)

    def record_outcome(self, job: Job, outcome: Outcome) -> None:
        result = outcome.result
        problem = outcome.error or (self._foreign_worker(result) if result else "no result")
        if problem:
            self.gradebook.record_grader_failure(
                job.student, self.config.rubric.assignment, job.path, job.sha256,
                self.config.rubric.max_score, problem, self.provenance(outcome.worker, ""),
                outcome.seconds)
            write_gradescope(self.gradebook, self.out_dir, job.student)
            self._line(StudentLine(job.student, "failed", "executed", None,
                                   self.config.rubric.max_score, outcome.seconds, problem))
            return
        assert result is not None
        executed_at = now_iso()
        if outcome.execution is not None:
            try:
                self.cache.save(job.student, CacheHeader(
                    job.sha256, GRADER_VERSION, self.key, self.plans, executed_at,
                    outcome.worker), outcome.execution)
            except (pickle.PicklingError, TypeError, AttributeError):
                pass  # graded all the same; only a later --rescore will need to execute it
        self._store(result, job.sha256, self.provenance(outcome.worker, executed_at), "executed")

    def rescore(self, sub: Submission) -> None:
        header = self.cache.header(sub.student)
        execution = self.cache.execution(sub.student)
        if header is None or execution is None:
            raise BatchInputError(f"{sub.student}: the cached execution vanished or is unreadable")
        result = score_execution(execution, self.config)
        self._store(result, header.notebook_sha256,
                    self.provenance(header.worker, header.executed_at), "rescored")

    def _store(self, result: GradeResult, sha: str, provenance: Provenance, how: str) -> None:
        write_reports(result, self.out_dir)
        row = self.gradebook.record_result(result, sha, provenance)
        write_gradescope(self.gradebook, self.out_dir, result.student)
        self._line(StudentLine(result.student, row.status, how, row.score, row.max_score,
                               row.seconds, row.reason))

    def _foreign_worker(self, result: GradeResult) -> str:
        """A worker whose grader or data differ from this process's would grade differently."""
        env = result.environment
        if env.get("grader_version") != GRADER_VERSION:
            return (f"a worker runs grader {env.get('grader_version')}, this process "
                    f"{GRADER_VERSION}")
        if env.get("data_fingerprint") != self.config.data.fingerprint:
            return "a worker loaded different data (check --data on every node)"
        return ""

    def _line(self, line: StudentLine) -> None:
        self.summary.lines.append(line)
        self.display.finished(line)


# -- runners -----------------------------------------------------------------------------------
OnStart = Callable[[Job], None]
OnDone = Callable[[Job, Outcome], None]
MAX_TRIES = 2


def _grader_failure(job: Job, reason: str) -> Outcome:
    return Outcome(job.student, None, None, reason, "", 0.0)


def redirect_output(log_path: str) -> None:
    """Send this worker's stdout/stderr to a log; kernels inherit them, so their chatter goes
    there too instead of over the progress display."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _init_local_worker(log_path: str | None, threads: int | None) -> None:
    if threads:
        limit_kernel_threads(threads)
    if log_path:
        redirect_output(log_path)


def run_local(submissions: list[Submission], settings: WorkerSettings, workers: int,
              log_path: Path | None, threads: int | None, on_start: OnStart,
              on_done: OnDone) -> None:
    """Run every task on `workers` processes; at most `workers` are handed out at a time, so the
    display knows who is running and a dying worker costs only the tasks it had."""
    pending: deque[Submission] = deque(submissions)
    tries: Counter[str] = Counter()
    context = multiprocessing.get_context("spawn")
    while pending:
        pool = ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=context,
                                   initializer=_init_local_worker,
                                   initargs=(str(log_path) if log_path else None, threads))
        running: dict[Future, tuple[Submission, Job]] = {}
        lost: list[tuple[Submission, Job]] = []
        interrupted = True
        try:
            while (pending or running) and not lost:
                while pending and len(running) < workers:
                    sub = pending.popleft()
                    job = make_job(sub)
                    running[pool.submit(grade_task, settings, job)] = (sub, job)
                    on_start(job)
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    sub, job = running.pop(future)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        lost.append((sub, job))
                        continue
                    except Exception as exc:  # noqa: BLE001  (e.g. a result that cannot be sent)
                        outcome = _grader_failure(job, f"the grader failed: "
                                                       f"{type(exc).__name__}: {exc}")
                    on_done(job, outcome)
            lost += running.values()
            interrupted = False
        finally:
            if interrupted:
                _stop_workers(pool)
            pool.shutdown(wait=not (lost or interrupted), cancel_futures=True)
        for sub, job in lost:
            tries[sub.student] += 1
            if tries[sub.student] >= MAX_TRIES:
                on_done(job, _grader_failure(job, "a grader worker process died while grading "
                                                  f"this notebook ({MAX_TRIES} times)"))
            else:
                pending.appendleft(sub)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's processes (Ctrl-C, or an error here): otherwise the interpreter waits
    at exit for the notebooks they are running. Their kernels exit with them (ipykernel watches
    its parent; a confined kernel's bwrap dies with its parent)."""
    for process in list(getattr(pool, "_processes", {}).values()):  # no public API for this
        process.terminate()


def _dask_worker_facts(confine: bool) -> dict:
    problem = None
    if confine:
        from grader.sandbox.confine import confinement_available

        problem = confinement_available()
    return {"grader_version": GRADER_VERSION, "sandbox_problem": problem}


def run_dask(address: str, submissions: list[Submission], settings: WorkerSettings,
             workers: int, log_path: Path | None, on_start: OnStart, on_done: OnDone) -> None:
    """Run every task on Dask: a scheduler at `address`, or `local` (a LocalCluster of `workers`
    processes, one thread each). Results come back here; nothing is written by the workers."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        try:
            client = Client(address)  # waits distributed.comm.timeouts.connect (30 s)
        except (OSError, ValueError) as exc:
            raise BatchInputError(f"--dask {address}: cannot reach the scheduler: {exc}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=120)
        except TimeoutError:
            raise BatchInputError(f"--dask {address}: no worker joined within 120 s") from None
        if cluster is not None and log_path is not None:
            client.run(redirect_output, str(log_path))
        for worker, facts in client.run(_dask_worker_facts, settings.confine).items():
            if facts["grader_version"] != GRADER_VERSION:
                raise BatchInputError(f"Dask worker {worker} runs grader {facts['grader_version']},"
                                      f" this process {GRADER_VERSION}: update it")
            if facts["sandbox_problem"]:
                raise BatchInputError(f"Dask worker {worker} cannot confine student code: "
                                      f"{facts['sandbox_problem']}")
        pending: deque[Submission] = deque(submissions)
        in_flight: dict[str, Job] = {}
        futures = as_completed()

        def top_up() -> None:
            # About two tasks per worker thread: the scheduler stays busy, and notebooks are sent
            # as they are needed rather than all at once.
            limit = 2 * max(1, sum(client.nthreads().values()))
            while pending and len(in_flight) < limit:
                job = make_job(pending.popleft())
                key = f"grade-{safe_name(job.student)}-{uuid.uuid4().hex[:8]}"
                future = client.submit(grade_task, settings, job, key=key, pure=False)
                in_flight[future.key] = job
                futures.add(future)
                on_start(job)

        top_up()
        for future in futures:
            job = in_flight.pop(future.key)
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001  (a lost worker, KilledWorker, ...)
                outcome = _grader_failure(job, f"the grader failed on Dask: "
                                               f"{type(exc).__name__}: {exc}")
            future.release()
            on_done(job, outcome)
            top_up()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# -- the batch -----------------------------------------------------------------------------------
def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_batch(options: BatchOptions, console: Console | None = None) -> BatchSummary:
    """Grade a class; raises BatchInputError for unusable input, never for a notebook."""
    started = time.perf_counter()
    console = console or Console(stderr=True)
    rubric, rubric_text = _load_rubric(options.rubric_path)
    data = _load_data(options)
    submissions = discover(options.paths, options.identity)
    roster = read_roster(options.roster) if options.roster else None
    key = execution_key(rubric, data.fingerprint, options.cell_timeout, options.notebook_timeout,
                        options.confine)
    settings_sha = settings_sha256(key, reference_source_sha256(rubric.reference))
    config = GradeConfig(rubric=rubric, data=data, cache_dir=options.reference_cache,
                         cell_timeout=options.cell_timeout,
                         notebook_timeout=options.notebook_timeout, confine=options.confine)
    settings = WorkerSettings(
        rubric_text=rubric_text, rubric_path=str(options.rubric_path),
        data_dir=str(options.data_dir.resolve()) if options.data_dir else None,
        train_limit=options.train_limit, cell_timeout=options.cell_timeout,
        notebook_timeout=options.notebook_timeout, confine=options.confine,
        reference_cache=str(options.reference_cache) if options.reference_cache else None,
    )
    summary = BatchSummary(rubric.assignment, options.out_dir)
    try:
        gradebook = Gradebook(options.out_dir)
    except GradebookError as exc:
        raise BatchInputError(str(exc)) from None
    with gradebook:
        try:
            gradebook.claim(rubric.assignment)
        except GradebookError as exc:
            raise BatchInputError(str(exc)) from None
        cache = ExecutionCache(options.out_dir)
        planned = plan_batch(submissions, gradebook, cache, options, rubric, key, settings_sha)
        for p in planned:
            if p.action == "skip" and p.previous is not None:
                prev = p.previous
                summary.lines.append(StudentLine(prev.student, prev.status, "skipped", prev.score,
                                                 prev.max_score, prev.seconds, prev.reason))
        to_rescore = [p.submission for p in planned if p.action == "rescore"]
        to_execute = [p.submission for p in planned if p.action == "execute"]
        workers = max(1, min(options.workers or default_workers(), len(to_execute) or 1))
        where = (f"Dask ({options.dask})" if options.dask else f"{workers} worker process"
                 + ("es" if workers > 1 else ""))
        console.print(
            f"Grading {len(submissions)} notebook(s) against {rubric.assignment} "
            f"({options.rubric_path}); data: {data.description}\n"
            f"  {len(to_execute)} to execute" + (f" on {where}" if to_execute else "")
            + f", {len(to_rescore)} to re-score from cache, "
            f"{len(planned) - len(to_execute) - len(to_rescore)} unchanged (skipped); "
            f"results in {options.out_dir}", highlight=False, soft_wrap=True)
        display = Display(len(to_execute) + len(to_rescore), console)
        recorder = Recorder(gradebook, cache, options.out_dir, config, key, settings_sha,
                            display, summary)
        try:
            with display:
                for sub in to_rescore:
                    recorder.rescore(sub)
                if to_execute:
                    on_start = lambda job: display.started(job.student)
                    cache.root.mkdir(parents=True, exist_ok=True)
                    os.chmod(cache.root, 0o700)
                    log_path = cache.root / WORKER_LOG
                    if options.dask:
                        run_dask(options.dask, to_execute, settings, workers, log_path,
                                 on_start, recorder.record_outcome)
                    else:
                        run_local(to_execute, settings, workers, log_path,
                                  rubric.limits.threads if not options.confine else None,
                                  on_start, recorder.record_outcome)
        finally:
            write_grades_csv(gradebook, options.out_dir, [q.id for q in rubric.questions], roster)
        have = {x.student for x in summary.lines} | {s.student for s in gradebook.submissions()}
    if roster is not None:
        summary.lines += [StudentLine(s, "missing", "", None, rubric.max_score, 0.0,
                                      "no submission") for s in roster if s not in have]
        on_roster = set(roster)
        summary.not_on_roster = sorted(s.student for s in submissions
                                       if s.student not in on_roster)
    summary.wall_seconds = time.perf_counter() - started
    return summary


def _load_rubric(path: Path) -> tuple[Rubric, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BatchInputError(f"{path}: cannot read rubric: {exc.strerror}") from None
    try:
        return parse_rubric(text, path), text
    except RubricError as exc:
        raise BatchInputError(str(exc)) from None


def _load_data(options: BatchOptions) -> DataBundle:
    try:
        return load_data(options.data_dir, train_limit=options.train_limit)
    except (DataError, OSError) as exc:
        raise BatchInputError(f"--data: {exc}") from None


def print_summary(summary: BatchSummary, console: Console, limit: int = 60) -> None:
    """The final table (failures first) and the headline counts."""
    order = {"failed": 0, "missing": 1, "graded": 2}
    lines = sorted(summary.lines, key=lambda x: (order.get(x.status, 3), x.student))
    table = Table(title=f"{summary.assignment}: {summary.out_dir}", title_justify="left")
    for column, justify in (("student", "left"), ("status", "left"), ("score", "right"),
                            ("how", "left"), ("seconds", "right"), ("note", "left")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    colours = {"graded": "green", "failed": "bold red", "missing": "yellow"}
    for x in lines[:limit]:
        score = "" if x.score is None else f"{x.score:.4g}/{x.max_score:g}"
        table.add_row(x.student, f"[{colours.get(x.status, '')}]{x.status}[/]", score, x.how,
                      f"{x.seconds:.1f}" if x.how else "", x.note[:100])
    console.print(table)
    if len(lines) > limit:
        console.print(f"... and {len(lines) - limit} more: see {summary.out_dir / 'grades.csv'}",
                      soft_wrap=True)
    console.print(summary.headline(), highlight=False, soft_wrap=True)
    if summary.not_on_roster:
        console.print("Not on the roster: " + ", ".join(summary.not_on_roster), highlight=False,
                      soft_wrap=True)
