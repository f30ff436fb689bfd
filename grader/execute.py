"""Execute stage: a notebook file -> an `Execution`: every cell run in the sandbox, every question
captured as plain data at the end of its section.

`execute_notebook(path, config)` never raises for anything the notebook does: a notebook that cannot be
read, a kernel that will not start or dies, a cell that hangs, each is said in the `Execution`.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.capture import QuestionCapture, capture_question
from grader.cellsource import assigned_names
from grader.checks.base import PlanContext
from grader.config import GradeConfig
from grader.data import provision
from grader.expected import Reference
from grader.notebook import (
    LoadedNotebook,
    NotebookError,
    Section,
    load_notebook,
    locate_sections,
)
from grader.results import Figure, SectionRecord
from grader.sandbox.kernel import CellRun, KernelSession, KernelStartError, SessionConfig


def student_name(path: Path) -> str:
    return path.stem


@dataclass
class Execution:
    """Everything scoring needs from one run of a notebook: plain data only, cacheable.

    Re-scoring with a rubric whose checks plan the same probes (only points or thresholds changed)
    needs no new execution: `score_execution(execution, config)`.
    """

    student: str
    notebook: str
    notebook_sha256: str
    records: dict[str, SectionRecord]
    captures: dict[str, QuestionCapture]
    sources: list[str]
    cell_of_execution: dict[int, int]
    notes: list[str]
    seconds: float
    fatal: str = ""
    plans: dict[str, list] = field(default_factory=dict)  # question id -> probe ops (signature)



def execute_notebook(path: Path, config: GradeConfig, student: str | None = None) -> Execution:
    """Run the notebook in the sandbox and capture every question's artifacts."""
    start = time.perf_counter()
    student = student or student_name(path)
    try:
        loaded = load_notebook(path)
    except NotebookError as exc:
        return Execution(student, str(path), "", {}, {}, [], {}, [],
                         time.perf_counter() - start, fatal=str(exc))
    workdir = Path(tempfile.mkdtemp(prefix=f"grade-{student[:20]}-"))
    try:
        return _execute_loaded(loaded, config, student, workdir, start)
    finally:
        if not config.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _execute_loaded(loaded: LoadedNotebook, config: GradeConfig, student: str, workdir: Path,
                    start: float) -> Execution:
    rubric = config.rubric
    sections = locate_sections(loaded.nb, rubric.questions)
    provision(config.data, workdir, rubric.data.layouts)
    reference = Reference(rubric.reference, config.data, config.cache_dir,
                          threads=rubric.limits.threads)
    session = KernelSession(_session_config(config, workdir))
    records = {s.question_id: _new_record(s, loaded) for s in sections}
    captures: dict[str, QuestionCapture] = {}
    notes: list[str] = []
    cell_of_execution: dict[int, int] = {}
    sources = [c.source if c.cell_type == "code" else "" for c in loaded.nb.cells]
    execution = Execution(student, str(loaded.path), loaded.sha256, records, captures, sources,
                          cell_of_execution, notes, 0.0)
    try:
        session.start()
    except KernelStartError as exc:
        execution.fatal = str(exc)
        execution.seconds = time.perf_counter() - start
        return execution
    try:
        _execute(loaded, config, sections, session, records, captures, notes, cell_of_execution,
                 reference)
    finally:
        session.close()
    execution.plans = {qid: c.ops for qid, c in captures.items()}
    execution.seconds = time.perf_counter() - start
    return execution



def _session_config(config: GradeConfig, workdir: Path) -> SessionConfig:
    ex, lim = config.rubric.execution, config.rubric.limits
    limits = config.limits
    if limits is None and config.confine:
        from grader.sandbox.confine import Limits

        limits = Limits(
            cpu_seconds=lim.cpu_seconds, memory_bytes=int(lim.memory_gb * 2**30),
            max_processes=lim.max_processes, max_open_files=lim.max_open_files,
            max_file_bytes=lim.max_file_mb * 2**20, threads=lim.threads,
        )
    font_cache = config.font_cache
    if font_cache is None and config.confine and config.cache_dir is not None:
        font_cache = _font_cache(config.cache_dir / "matplotlib-fonts")
    return SessionConfig(
        workdir=workdir,
        cell_timeout=config.cell_timeout or ex.cell_timeout,
        startup_timeout=ex.startup_timeout,
        probe_timeout=ex.probe_timeout,
        max_output_bytes=int(lim.max_output_mb * 2**20),
        confine=config.confine,
        limits=limits,
        forbidden_calls=list(config.rubric.forbidden_calls),
        font_cache=font_cache,
    )


def _font_cache(path: Path) -> Path | None:
    """matplotlib's font list, built once (in a sandbox) and reused by every kernel."""
    from grader.sandbox.confine import build_font_cache

    if any(path.glob("fontlist-*.json")):
        return path
    try:
        return build_font_cache(path)
    except Exception:  # noqa: BLE001  (kernels then rebuild it themselves: slower, still correct)
        return None


def _new_record(section: Section, loaded: LoadedNotebook) -> SectionRecord:
    cells = loaded.nb.cells
    span = range(section.start, section.end) if section.found else range(0)
    return SectionRecord(
        question_id=section.question_id,
        cell_indices=[i for i in span if cells[i].cell_type == "code"],
        markdown=[cells[i].source for i in span
                  if cells[i].cell_type == "markdown" and i != section.heading_cell],
        note=section.note,
    )


def _execute(loaded: LoadedNotebook, config: GradeConfig, sections: list[Section],
             session: KernelSession, records: dict[str, SectionRecord],
             captures: dict[str, QuestionCapture], notes: list[str],
             cell_of_execution: dict[int, int], reference: Reference) -> None:
    """Run every code cell in order, capturing each question when its section ends."""
    cells = loaded.nb.cells
    timeout = config.notebook_timeout or config.rubric.execution.notebook_timeout
    deadline = time.monotonic() + timeout
    owner = {i: s.question_id for s in sections if s.found for i in range(s.start, s.end)}
    executed = 0
    stopped = ""
    for position in range(len(cells) + 1):
        for s in sections:
            if s.end == position:
                sources = [cells[i].source for i in records[s.question_id].cell_indices]
                _capture(s, config, session, records, captures, reference, stopped, sources)
                if not stopped and session.dead_reason:  # a probe hung or killed the kernel
                    stopped = session.dead_reason
        if position == len(cells):
            break
        cell = cells[position]
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if stopped:
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            stopped = f"the notebook's time limit ({timeout:g} s) was reached before cell {position}"
            continue
        executed += 1
        cell_of_execution[executed] = position
        run = session.run_cell(cell.source, position,
                               timeout=min(session.config.cell_timeout, remaining))
        _record_cell(run, owner.get(position), records, notes)
        if run.kernel_dead:
            stopped = session.dead_reason or "the kernel died"
    for s in sections:
        record = records[s.question_id]
        if stopped and not record.executed:
            record.not_run_reason = stopped


def _capture(section: Section, config: GradeConfig, session: KernelSession,
             records: dict[str, SectionRecord], captures: dict[str, QuestionCapture],
             reference: Reference, stopped: str, section_sources: list[str]) -> None:
    record = records[section.question_id]
    if stopped:
        record.executed = False
        record.not_run_reason = stopped
    else:
        record.executed = True
    question = config.rubric.question(section.question_id)
    ctx = PlanContext(section.question_id, reference, config.data, session.io_dir,
                      assigned_names=assigned_names(section_sources))
    max_bytes = int(config.rubric.limits.max_capture_mb * 2**20)
    start = time.perf_counter()
    capture = capture_question(question, ctx, session if not stopped else None, max_bytes)
    if stopped:
        capture.capture_error = stopped  # why nothing could be inspected, in the check sentences
    record.figure_summaries = capture.figures
    record.seconds += time.perf_counter() - start
    captures[section.question_id] = capture


def _record_cell(run: CellRun, qid: str | None, records: dict[str, SectionRecord],
                 notes: list[str]) -> None:
    if qid is None:
        if run.error is not None:
            notes.append(f"cell {run.index} (before the first question) raised "
                         f"{run.error.ename}: {run.error.evalue.strip()[:300]}")
        return
    record = records[qid]
    record.seconds += run.seconds
    if run.error is not None:
        record.errors.append(run.error)
    for out in run.outputs:
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") == "stdout":
            record.stdout += out.get("text", "")
        elif kind in ("display_data", "execute_result"):
            png = out.get("data", {}).get("image/png")
            if isinstance(png, str) and len(record.figures) < 20:
                record.figures.append(Figure(run.index, png.replace("\n", "")))


