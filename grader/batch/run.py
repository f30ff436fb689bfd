"""Grading a run: one notebook or a class -> one gradebook, on this process, local workers or Dask.

`run_batch(options, console)` is the only path `grade` takes; a single notebook is a class of one
(graded in this process, with its own summary). The steps, in order:

1. discover: each notebook and its student (`alice.ipynb` -> alice, or `alice/hw2.ipynb` -> alice);
2. load the assignment once (rubric and data, `grader/assignment.py`), check the sandbox;
3. plan: per student, skip, execute or re-score from the cached execution (`plan.py`);
4. run: each execution is one task (`task.py`) on a runner (`runners.py`);
5. record: this process alone writes, as each result arrives, the reports, the execution cache, the
   gradebook row (one transaction) and Gradescope's results.json (`record.py`); at the end grades.csv.

A failure never stops the batch: an unreadable notebook or a kernel that cannot start is a result
with `fatal` set ("failed to grade"); an exception in a worker, or a worker that dies, is recorded as
the grader's own failure for that student and retried on the next run.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from rich.console import Console
from rich.text import Text

from grader.assignment import AssignmentError, detect_rubric, read_rubric_text
from grader.batch.discover import BatchInputError, Submission, discover, read_roster
from grader.batch.lifetime import (
    check_room,
    interrupts_on_signals,
    out_lock,
    out_write_errors,
    remove_stale_temp,
)
from grader.batch.live import Display
from grader.batch.plan import execution_key, plan_batch, reference_source_sha256, settings_sha256
from grader.batch.progress import BatchSummary, StudentLine
from grader.batch.record import Recorder
from grader.batch.runners import default_workers, run_dask, run_local
from grader.batch.task import WorkerSettings, grade_task, make_job, worker_config
from grader.cache import ExecutionCache
from grader.exports import write_grades_csv
from grader.options import GradeOptions
from grader.report.dashboard import write_dashboard
from grader.results import GRADER_ERROR, GRADER_PROBLEM
from grader.store import Gradebook, GradebookError

WORKER_LOG = "workers.log"


def run_batch(options: GradeOptions, console: Console | None = None) -> BatchSummary:
    """Grade what `options` names; raises BatchInputError for unusable input, never for a notebook."""
    started = time.perf_counter()
    console = console or Console(stderr=True)
    submissions = discover(options.paths, options.identity)
    roster = read_roster(options.roster) if options.roster else None
    try:
        detection = None if options.rubric_path else detect_rubric([s.path for s in submissions])
        rubric_path = options.rubric_path or detection.path
        settings = WorkerSettings.from_options(options, rubric_path, read_rubric_text(rubric_path))
        config = worker_config(settings)
    except AssignmentError as exc:
        raise BatchInputError(str(exc)) from None
    if detection is not None and not options.quiet:
        for note in detection.skipped:
            console.print(note, highlight=False, soft_wrap=True, markup=False)
        console.print(f"Rubric {rubric_path} chosen from the headings: {detection.reason}",
                      highlight=False, soft_wrap=True, markup=False)
    rubric, data = config.rubric, config.data
    out_dir = options.out_for(rubric.assignment)
    if options.confine and not options.dask and (options.force or not options.rescore):
        _check_sandbox()  # (Dask workers are checked where they run)
    key = execution_key(rubric, data.fingerprint, options.cell_timeout, options.notebook_timeout,
                        options.confine)
    settings_sha = settings_sha256(key, reference_source_sha256(rubric.reference))
    summary = BatchSummary(rubric.assignment, out_dir)
    with interrupts_on_signals(), out_write_errors(out_dir), out_lock(out_dir):
        check_room(out_dir)
        remove_stale_temp()
        try:
            gradebook = Gradebook(out_dir)
        except GradebookError as exc:
            raise BatchInputError(str(exc)) from None
        with gradebook:
            try:
                gradebook.claim(rubric.assignment)
            except GradebookError as exc:
                raise BatchInputError(str(exc)) from None
            cache = ExecutionCache(out_dir)
            planned = plan_batch(submissions, gradebook, cache, rubric, key, settings_sha,
                                 force=options.force, rescore=options.rescore)
            for p in planned:
                if p.action == "skip" and p.previous is not None:
                    prev = p.previous
                    summary.lines.append(StudentLine(
                        prev.student, prev.status, "skipped", prev.score, prev.max_score,
                        prev.seconds, prev.reason, stored_grader_problems(gradebook, prev.student)))
            to_rescore = [p.submission for p in planned if p.action == "rescore"]
            to_execute = [p.submission for p in planned if p.action == "execute"]
            workers = max(1, min(options.workers or default_workers(), len(to_execute) or 1))
            settings = dataclasses.replace(
                settings, kernels_at_once=workers,
                warm=options.warm and len(to_execute) > 1 and not options.dask)
            if not options.quiet:
                skipped = len(planned) - len(to_execute) - len(to_rescore)
                where = f" {_where(options, workers, len(to_execute))}" if to_execute else ""
                console.print(Text(
                    f"Grading {len(submissions)} notebook(s) against {rubric.assignment} "
                    f"({rubric_path}); data: {data.description}\n  {len(to_execute)} to execute"
                    f"{where}, {len(to_rescore)} to re-score from cache, {skipped} unchanged "
                    f"(skipped); results in {out_dir}"), highlight=False, soft_wrap=True)
            display = Display(len(to_execute) + len(to_rescore), console,
                              workers=1 if len(to_execute) <= 1 else workers,
                              quiet=options.quiet)

            def on_line(line: StudentLine) -> None:
                summary.lines.append(line)
                display.finished(line)

            recorder = Recorder(gradebook, cache, config, key, settings_sha, on_line)
            try:
                with display:
                    for sub in to_rescore:
                        recorder.rescore(sub)
                    if to_execute:
                        _execute(options, to_execute, settings, workers, cache, display, recorder,
                                 dataclasses.replace(config, kernels_at_once=workers
                                                     ).kernel_threads)
            finally:
                write_grades_csv(gradebook, out_dir, [q.id for q in rubric.questions], roster)
                write_dashboard(gradebook, out_dir)
            have = {x.student for x in summary.lines} | {s.student for s in gradebook.submissions()}
    if roster is not None:
        summary.lines += [StudentLine(s, "missing", "", None, rubric.max_score, 0.0,
                                      "no submission") for s in roster if s not in have]
        on_roster = set(roster)
        summary.not_on_roster = sorted(s.student for s in submissions
                                       if s.student not in on_roster)
    summary.wall_seconds = time.perf_counter() - started
    return summary


def stored_grader_problems(gradebook: Gradebook, student: str) -> list[tuple[str, str]]:
    """The grader problems of a student's recorded result: they stand until the run changes."""
    return [(q.question_id, next((m["message"].removeprefix(GRADER_PROBLEM) for m in q.messages
                                  if m.get("grader_problem")), ""))
            for q in gradebook.questions(student) if q.status == GRADER_ERROR]


def _where(options: GradeOptions, workers: int, jobs: int) -> str:
    if options.dask:
        return f"on Dask ({options.dask})"
    if jobs == 1:
        return "in this process"
    return f"on {workers} worker process" + ("es" if workers > 1 else "")


def _execute(options: GradeOptions, to_execute: list[Submission], settings: WorkerSettings,
             workers: int, cache: ExecutionCache, display: Display, recorder: Recorder,
             threads: int) -> None:
    def on_start(job) -> None:
        display.started(job.student)

    if options.dask:
        run_dask(options.dask, to_execute, settings, workers, _worker_log(cache), on_start,
                 recorder.record_outcome)
    elif len(to_execute) == 1:  # in this process (no worker to start), followed cell by cell
        job = make_job(to_execute[0])
        on_start(job)
        recorder.record_outcome(job, grade_task(settings, job, display.cell))
    else:
        run_local(to_execute, settings, workers, _worker_log(cache),
                  threads if not options.confine else None, on_start, recorder.record_outcome)


def _worker_log(cache: ExecutionCache) -> Path:
    cache.root.mkdir(parents=True, exist_ok=True)
    os.chmod(cache.root, 0o700)
    return cache.root / WORKER_LOG


def _check_sandbox() -> None:
    from grader.sandbox.host import confinement_available

    problem = confinement_available()
    if problem:
        raise BatchInputError(f"cannot confine student code: {problem}. Install bubblewrap "
                              "(./setup.sh does) or pass --unsafe-no-sandbox for trusted "
                              "notebooks only.")
