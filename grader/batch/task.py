"""The per-submission task: execute and score one notebook, wherever it runs (here, a worker, Dask).

`grade_task(settings, job)` never raises: a grader failure is in `Outcome.error`. The task carries the
notebook's bytes and the rubric's text, so workers need no access to the class's files.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.assignment import load_assignment
from grader.batch.discover import Submission
from grader.batch.warm import PreparedKernel, WarmKernels
from grader.options import GradeOptions
from grader.pipeline import Execution, GradeConfig, execute_notebook, score_execution
from grader.results import CellProgress, GradeResult
from grader.sandbox.plumbing import temp_prefix


@dataclass(frozen=True)
class WorkerSettings:
    """What every worker needs to build the same `GradeConfig`: plain values, cheap to send."""

    rubric_text: str
    rubric_path: str  # as given, for messages
    rubric_folder: str  # absolute: the rubric's relative paths resolve here on every worker
    data_dir: str | None
    train_limit: int | None
    cell_timeout: float | None
    notebook_timeout: float | None
    confine: bool
    reference_cache: str | None
    # kernels running at once (the kernels' threads derive from it, config.kernel_threads); not
    # compared, so every batch size shares one loaded assignment per process (worker_config)
    kernels_at_once: int = dataclasses.field(default=1, compare=False)
    # a batch prepares each worker's next kernel ahead (batch/warm.py; `--no-warm`: not)
    warm: bool = dataclasses.field(default=False, compare=False)

    @classmethod
    def from_options(cls, options: GradeOptions, rubric_path: Path,
                     rubric_text: str) -> WorkerSettings:
        return cls(
            rubric_text=rubric_text, rubric_path=str(rubric_path),
            rubric_folder=str(rubric_path.resolve().parent),
            data_dir=str(options.data_dir.resolve()) if options.data_dir else None,
            train_limit=options.train_limit, cell_timeout=options.cell_timeout,
            notebook_timeout=options.notebook_timeout, confine=options.confine,
            reference_cache=str(options.reference_cache) if options.reference_cache else None,
        )


@functools.lru_cache(maxsize=4)  # per process, like worker_config: kernels started ahead
def warm_kernels(settings: WorkerSettings) -> WarmKernels:
    """This process's kernel prepared ahead for the next notebook; closed when the process exits."""
    import multiprocessing.util

    kernels = WarmKernels()
    multiprocessing.util.Finalize(kernels, kernels.close, exitpriority=10)
    return kernels


@functools.lru_cache(maxsize=4)  # per process: rubric and data are loaded once, not per task
def worker_config(settings: WorkerSettings) -> GradeConfig:
    """The grading configuration these settings describe (raises AssignmentError)."""
    assignment = load_assignment(settings.rubric_text, Path(settings.rubric_path),
                                 Path(settings.data_dir) if settings.data_dir else None,
                                 settings.train_limit, Path(settings.rubric_folder))
    return GradeConfig(
        rubric=assignment.rubric, data=assignment.data,
        cache_dir=Path(settings.reference_cache) if settings.reference_cache else None,
        cell_timeout=settings.cell_timeout, notebook_timeout=settings.notebook_timeout,
        confine=settings.confine,
    )


@dataclass(frozen=True)
class Job:
    student: str
    path: str  # as given; reports and the gradebook show it
    sha256: str  # of `content`; '' when the grader could not read the file
    content: bytes | None
    warm_next: bool = False  # more notebooks follow: prepare a kernel ahead for one (warm.py)


@dataclass
class Outcome:
    student: str
    result: GradeResult | None
    execution: Execution | None
    error: str  # the grader's own failure, when `result` is None
    worker: str
    seconds: float


def make_job(submission: Submission) -> Job:
    try:
        content = submission.path.read_bytes()
    except OSError:
        return Job(submission.student, str(submission.path), "", None)
    return Job(submission.student, str(submission.path), hashlib.sha256(content).hexdigest(),
               content)


def limit_kernel_threads(threads: int) -> None:
    """Thread limits for unconfined kernels, which inherit this worker process's environment.

    (A confined kernel gets its whole environment from the sandbox, limits included.)
    """
    from grader.sandbox.confine import THREAD_ENV_VARS

    for name in THREAD_ENV_VARS:
        os.environ[name] = str(threads)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def grade_task(settings: WorkerSettings, job: Job,
               on_progress: Callable[[CellProgress], None] | None = None) -> Outcome:
    """Execute and score one notebook; never raises (a grader failure is in `Outcome.error`).

    `on_progress` hears of each cell before it runs (only in the process that shows it).
    """
    start = time.perf_counter()
    try:
        config = dataclasses.replace(worker_config(settings),
                                     kernels_at_once=settings.kernels_at_once)
        if on_progress is not None:
            config = dataclasses.replace(config, on_progress=on_progress)
        if not settings.confine:
            limit_kernel_threads(config.kernel_threads)
        prepared = None
        if settings.warm:
            kernels = warm_kernels(settings)
            prepared = kernels.take()  # started ahead, while this process's last notebook ran
            if job.warm_next:
                kernels.prepare(config)  # for the next one, while this notebook runs
        execution = _execute_job(job, config, prepared)
        result = score_execution(execution, config)
    except Exception as exc:  # noqa: BLE001  (a grader bug must cost one student, not the class)
        return Outcome(job.student, None, None, f"the grader failed: {type(exc).__name__}: {exc}",
                       worker_name(), time.perf_counter() - start)
    except BaseException:  # stopped (a signal, the grader gone): the kernel started ahead too
        if settings.warm:
            warm_kernels(settings).close()
        raise
    return Outcome(job.student, result, execution, "", worker_name(),
                   time.perf_counter() - start)


def _execute_job(job: Job, config: GradeConfig, prepared: PreparedKernel | None) -> Execution:
    if job.content is None:
        return execute_notebook(Path(job.path), config, job.student, prepared)
    with tempfile.TemporaryDirectory(prefix=temp_prefix("grade-nb")) as tmp:
        copy = Path(tmp) / Path(job.path).name
        copy.write_bytes(job.content)
        execution = execute_notebook(copy, config, job.student, prepared)
    execution.notebook = job.path
    execution.fatal = execution.fatal.replace(str(copy), job.path)
    return execution
