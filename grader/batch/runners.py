"""Runners: where the tasks run. In this process (one notebook), on local worker processes, on Dask.

Each runner calls `on_start(job)` when a task is handed out and `on_done(job, outcome)` when its
outcome is back, in this process, which alone records results. A worker that dies costs only the task
it had (retried once); a grader failure in a task is an outcome, never an exception here.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import multiprocessing
import os
import uuid
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from grader import __version__ as GRADER_VERSION
from grader.batch.discover import BatchInputError, Submission
from grader.batch.lifetime import die_with_parent, run_in_worker
from grader.batch.task import (
    Job,
    Outcome,
    WorkerSettings,
    grade_task,
    limit_kernel_threads,
    make_job,
)
from grader.config import cores
from grader.report import safe_name

OnStart = Callable[[Job], None]
OnDone = Callable[[Job, Outcome], None]
MAX_TRIES = 2


def default_workers() -> int:
    return cores()


def grader_failure(job: Job, reason: str) -> Outcome:
    return Outcome(job.student, None, None, reason, "", 0.0)


def run_inline(submissions: list[Submission], settings: WorkerSettings, on_start: OnStart,
               on_done: OnDone) -> None:
    """Run the tasks one after the other in this process: no worker to start for one notebook."""
    for sub in submissions:
        job = make_job(sub)
        on_start(job)
        on_done(job, grade_task(settings, job))


def redirect_output(log_path: str) -> None:
    """Send this worker's stdout/stderr to a log; kernels inherit them, so their chatter goes
    there too instead of over the progress display."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _init_local_worker(log_path: str | None, threads: int | None) -> None:
    die_with_parent()
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
                    job = dataclasses.replace(make_job(sub), warm_next=bool(pending))
                    running[pool.submit(run_in_worker, grade_task, settings, job)] = (sub, job)
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
                        outcome = grader_failure(job, f"the grader failed: "
                                                      f"{type(exc).__name__}: {exc}")
                    on_done(job, outcome)
            lost += running.values()
            interrupted = False
        finally:
            if interrupted:
                stop_workers()
            pool.shutdown(wait=not (lost or interrupted), cancel_futures=True)
        for sub, job in lost:
            tries[sub.student] += 1
            if tries[sub.student] >= MAX_TRIES:
                on_done(job, grader_failure(job, "a grader worker process died while grading "
                                                 f"this notebook ({MAX_TRIES} times)"))
            else:
                pending.appendleft(sub)


def stop_workers() -> None:
    """Terminate this process's worker processes (Ctrl-C, or an error here): otherwise the
    interpreter waits at exit for the notebooks they are running. Their kernels exit with them
    (ipykernel watches its parent; a confined kernel's bwrap dies with its parent)."""
    for process in multiprocessing.active_children():
        process.terminate()


def grade_task_in_own_context(settings: WorkerSettings, job: Job) -> Outcome:
    """`grade_task` in a fresh `contextvars` context. Dask runs a task in a copy of the context
    that submitted it, and jupyter_core keeps each thread's event loop in a context variable: two
    tasks of one worker could otherwise share one loop ("This event loop is already running")."""
    return contextvars.Context().run(grade_task, settings, job)


def _dask_worker_facts(confine: bool) -> dict:
    problem = None
    if confine:
        from grader.sandbox.host import confinement_available

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
        _check_dask_workers(client, address, settings, cluster is not None, log_path)
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
                future = client.submit(grade_task_in_own_context, settings, job, key=key,
                                       pure=False)
                in_flight[future.key] = job
                futures.add(future)
                on_start(job)

        top_up()
        for future in futures:
            job = in_flight.pop(future.key)
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001  (a lost worker, KilledWorker, ...)
                outcome = grader_failure(job, f"the grader failed on Dask: "
                                              f"{type(exc).__name__}: {exc}")
            future.release()
            on_done(job, outcome)
            top_up()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _check_dask_workers(client, address: str, settings: WorkerSettings, local: bool,
                        log_path: Path | None) -> None:
    """Refuse workers that would grade differently or cannot confine student code."""
    try:
        client.wait_for_workers(1, timeout=120)
    except TimeoutError:
        raise BatchInputError(f"--dask {address}: no worker joined within 120 s") from None
    if local and log_path is not None:
        client.run(redirect_output, str(log_path))
    for worker, facts in client.run(_dask_worker_facts, settings.confine).items():
        if facts["grader_version"] != GRADER_VERSION:
            raise BatchInputError(f"Dask worker {worker} runs grader {facts['grader_version']},"
                                  f" this process {GRADER_VERSION}: update it")
        if facts["sandbox_problem"]:
            raise BatchInputError(f"Dask worker {worker} cannot confine student code: "
                                  f"{facts['sandbox_problem']}")
