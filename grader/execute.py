"""Execute stage: a notebook file -> an `Execution`: every cell run in the sandbox, every question
captured as plain data at the end of its section.

`execute_notebook(path, config)` never raises for anything the notebook does: a notebook that cannot be
read, a kernel that will not start or dies, a cell that hangs, each is said in the `Execution`.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from grader.capture import QuestionCapture, capture_question
from grader.cellsource import assigned_names
from grader.checks.base import PlanContext
from grader.config import GradeConfig
from grader.data import provision
from grader.expected import Reference, ReferenceError_, named_functions
from grader.kernel_config import session_config
from grader.notebook import (
    LoadedNotebook,
    NotebookError,
    Section,
    load_notebook,
    locate_sections,
)
from grader.results import CellProgress, Figure, SectionRecord
from grader.sandbox.kernel import CellRun, KernelSession, KernelStartError
from grader.sandbox.plumbing import temp_prefix

if TYPE_CHECKING:
    from grader.batch.warm import PreparedKernel


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
    restarts: int = 0  # kernels started after one died or stopped answering
    skipped_cells: list[int] = field(default_factory=list)  # not run: after a death in a section
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds (results.py)

    def add_time(self, stage: str, seconds: float) -> None:
        """Add to a stage's time (a restarted kernel's start adds to the first one's)."""
        self.timings[stage] = self.timings.get(stage, 0.0) + seconds


def execute_notebook(path: Path, config: GradeConfig, student: str | None = None,
                     prepared: PreparedKernel | None = None) -> Execution:
    """Run the notebook in the sandbox and capture every question's artifacts; in `prepared`'s
    kernel and folder when given (a kernel started ahead for this notebook alone, batch/warm.py),
    which this closes."""
    start = time.perf_counter()
    student = student or student_name(path)
    try:
        loaded = load_notebook(path)
    except NotebookError as exc:
        if prepared is not None:
            prepared.close()
        return Execution(student, str(path), "", {}, {}, [], {}, [],
                         time.perf_counter() - start, fatal=str(exc))
    workdir = prepared.workdir if prepared is not None else \
        Path(tempfile.mkdtemp(prefix=temp_prefix(f"grade-{student[:20]}")))
    try:
        return _execute_loaded(loaded, config, student, workdir, start, prepared)
    finally:
        if prepared is not None:
            prepared.session.close()  # (closed already, unless interrupted)
        if not config.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _execute_loaded(loaded: LoadedNotebook, config: GradeConfig, student: str, workdir: Path,
                    start: float, prepared: PreparedKernel | None = None) -> Execution:
    rubric = config.rubric
    sections = locate_sections(loaded.nb, rubric.questions)
    records = {s.question_id: _new_record(s, loaded) for s in sections}
    captures: dict[str, QuestionCapture] = {}
    notes: list[str] = []
    cell_of_execution: dict[int, int] = {}
    sources = [c.source if c.cell_type == "code" else "" for c in loaded.nb.cells]
    execution = Execution(student, str(loaded.path), loaded.sha256, records, captures, sources,
                          cell_of_execution, notes, 0.0)
    execution.add_time("load", time.perf_counter() - start)
    reference = Reference(rubric.reference, config.data, config.cache_dir)
    reference.warm_up(_reference_functions(config, reference))  # torch, if checks need it
    if prepared is not None:
        for stage, seconds in prepared.timings.items():
            execution.add_time(f"{stage} (ahead)", seconds)
        session = prepared.session
    else:
        mark = time.perf_counter()
        provision(config.data, workdir, rubric.data.layouts)
        execution.add_time("provision", time.perf_counter() - mark)
        session = KernelSession(session_config(config, workdir))
    try:
        if prepared is None:
            session.start()
    except KernelStartError as exc:
        execution.fatal = str(exc)
        execution.seconds = time.perf_counter() - start
        return execution
    except BaseException:  # interrupted while starting (Ctrl-C, SIGTERM): leave nothing behind
        session.close()
        raise
    finally:
        _add_session_times(execution, session)
    timeout = config.notebook_timeout or rubric.execution.notebook_timeout
    loop = _Loop(loaded, config, sections, session, reference, execution,
                 deadline=time.monotonic() + timeout, timeout=timeout)
    try:
        loop.run()
    finally:
        loop.session.close()
    execution.plans = {qid: c.ops for qid, c in captures.items()}
    for name, seconds in reference.timings.items():
        execution.add_time(f"reference {name}", seconds)
    execution.seconds = time.perf_counter() - start
    return execution


def _reference_functions(config: GradeConfig, reference: Reference) -> list[str]:
    """The reference functions the rubric's checks name ([] when the module does not load)."""
    try:
        module = reference.module
    except ReferenceError_:
        return []
    return [name for q in config.rubric.questions for c in q.checks
            for name in named_functions(c.params, module)]


def _add_session_times(execution: Execution, session: KernelSession) -> None:
    for stage, seconds in session.timings.items():
        execution.add_time(stage, seconds)



def _new_record(section: Section, loaded: LoadedNotebook) -> SectionRecord:
    cells = loaded.nb.cells
    span = range(section.start, section.end) if section.found else range(0)
    return SectionRecord(
        question_id=section.question_id,
        cell_indices=[i for i in span if cells[i].cell_type == "code"],
        markdown=[cells[i].source for i in span
                  if cells[i].cell_type == "markdown" and i != section.heading_cell],
        code=tuple(cells[i].source for i in span
                   if cells[i].cell_type == "code" and cells[i].source.strip()),
        note=section.note,
    )


def _capture(section: Section, config: GradeConfig, session: KernelSession,
             records: dict[str, SectionRecord], captures: dict[str, QuestionCapture],
             reference: Reference, stopped: str, section_sources: list[str]) -> float:
    """Capture one question's artifacts; returns the seconds it took."""
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
    seconds = time.perf_counter() - start
    record.seconds += seconds
    captures[section.question_id] = capture
    return seconds


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


@dataclass
class _Loop:
    """The execution loop of one notebook: its kernel, where it is, what a kernel death cost.

    `run()` executes every code cell in order and captures each question when its section ends. A
    kernel that dies or stops answering (in a cell or while being inspected) costs the question
    it was in: a fresh kernel replays the cells before that question's section (never a cell that
    killed a kernel), skips the rest of that section, and the questions after it are graded as
    usual, at most `max_restarts` times per notebook and within the notebook's time limit.
    """

    loaded: LoadedNotebook
    config: GradeConfig
    sections: list[Section]
    session: KernelSession
    reference: Reference
    execution: Execution
    deadline: float
    timeout: float
    stopped: str = ""  # set once no kernel is left to run the rest
    executed: int = 0  # cells sent to kernels so far: the next kernel's cell counter starts here
    restarts: int = 0
    killers: set[int] = field(default_factory=set)  # cells that killed a kernel or hung: no replay
    lost: dict[str, str] = field(default_factory=dict)  # question id -> why its state was lost
    skip_before: int = -1  # cells before this position are skipped (rest of a lost section)
    restart_note: str = ""

    def run(self) -> None:
        cells = self.loaded.nb.cells
        owner = {i: s for s in self.sections if s.found for i in range(s.start, s.end)}
        for position in range(len(cells) + 1):
            for s in self.sections:
                if s.end == position:
                    self._capture(s, position)
            if position == len(cells):
                break
            cell = cells[position]
            if cell.cell_type != "code" or not cell.source.strip() or self.stopped:
                continue
            if position < self.skip_before:
                self.execution.skipped_cells.append(position)
                continue
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.stopped = (f"the notebook's time limit ({self.timeout:g} s) was reached "
                                f"before cell {position}")
                continue
            section = owner.get(position)
            self._tell(section.question_id if section else "", position)
            run = self._run(cell.source, position, remaining)
            _record_cell(run, section.question_id if section else None,
                         self.execution.records, self.execution.notes)
            if run.error is not None and "[Errno 28]" in run.error.evalue:
                self._note_disk_full(position)
            if run.error is not None and run.error.ename == "CellTimeoutError":
                self.killers.add(position)  # replaying it would only hang again
            if run.kernel_dead:
                self.killers.add(position)
                if section is None:
                    self._kernel_lost(f"cell {position}", position, position + 1)
                else:
                    self._lose_section(section.question_id)
                    self._kernel_lost(f"question {section.question_id}", section.start,
                                      section.end)
        for record in self.execution.records.values():
            if self.stopped and not record.executed and not record.not_run_reason:
                record.not_run_reason = self.stopped
        if self.execution.skipped_cells:
            self.execution.notes.append(
                f"not run: cell(s) {_spans(self.execution.skipped_cells)}, which followed a "
                "kernel death in their question's section")

    def _tell(self, qid: str, position: int) -> None:
        """Say which cell is about to run to whoever follows this notebook (the status line)."""
        if self.config.on_progress is None:
            return
        code = [i for i, c in enumerate(self.loaded.nb.cells)
                if c.cell_type == "code" and c.source.strip()]
        self.config.on_progress(CellProgress(self.execution.student, qid, position,
                                             code.index(position) + 1, len(code)))

    def _note_disk_full(self, position: int) -> None:
        limit = self.config.rubric.limits.disk_mb
        if self.config.limits is not None:
            limit = getattr(self.config.limits, "disk_bytes", limit * 2**20) / 2**20
        note = (f"the notebook hit its disk limit in cell {position}: {limit:g} MB for its folder, "
                "/tmp and /dev/shm together (the rubric's limits.disk_mb)")
        if not any(n.startswith("the notebook hit its disk limit") for n in self.execution.notes):
            self.execution.notes.append(note)

    def _run(self, source: str, position: int, remaining: float) -> CellRun:
        self.executed += 1
        self.execution.cell_of_execution[self.executed] = position
        run = self.session.run_cell(source, position,
                                    timeout=min(self.session.config.cell_timeout, remaining))
        self.execution.add_time(f"cell {position}", run.seconds)
        return run

    def _capture(self, section: Section, position: int) -> None:
        qid = section.question_id
        record = self.execution.records[qid]
        if self.restart_note and qid not in self.lost and not self.stopped:
            record.note = "; ".join(n for n in (record.note, self.restart_note) if n)
        sources = [self.loaded.nb.cells[i].source for i in record.cell_indices]
        seconds = _capture(section, self.config, self.session, self.execution.records,
                           self.execution.captures, self.reference,
                           self.lost.get(qid) or self.stopped, sources)
        self.execution.add_time(f"capture {qid}", seconds)
        if not self.stopped and qid not in self.lost and self.session.dead_reason:
            # a probe hung or killed the kernel: this question's answers are lost, the cells
            # before this point are not to blame, so all of them are replayed
            self._kernel_lost(f"question {qid}", position, position)

    def _lose_section(self, qid: str) -> None:
        """The kernel died in this question's section: its state is gone, it is not captured."""
        self.lost[qid] = self.session.dead_reason or "the kernel died"
        record = self.execution.records[qid]
        record.executed, record.not_run_reason = False, self.lost[qid]

    def _kernel_lost(self, where: str, replay_end: int, resume_at: int) -> None:
        """Replace the dead kernel by one that replayed the cells before `replay_end`, and go on
        from `resume_at`; or stop, when no restart or time is left."""
        reason = self.session.dead_reason or "the kernel died"
        self.session.close()
        if self.restarts >= self.config.rubric.execution.max_restarts:
            self.stopped = reason
            self.execution.notes.append(
                f"{reason}; no kernel restart left (at most "
                f"{self.config.rubric.execution.max_restarts} per notebook)")
            return
        self.restarts += 1
        self.execution.restarts = self.restarts
        problem = self._fresh_kernel(replay_end)
        if problem:
            self.stopped = reason
            self.execution.notes.append(f"{reason}; restarting the kernel failed: {problem}")
            return
        self.skip_before = resume_at
        replayed = self._replayable(replay_end)
        self.restart_note = (f"graded after kernel restart {self.restarts} ({reason}, in {where}; "
                             f"{len(replayed)} earlier cell(s) replayed)")
        which = f"cell {replayed[0]}" if len(replayed) == 1 else \
            f"cells {_spans(replayed)}" if replayed else "no cell"
        self.execution.notes.append(
            f"{reason}: {where} is lost; a new kernel replayed {which} and went on from cell "
            f"{resume_at}")

    def _replayable(self, end: int) -> list[int]:
        cells = self.loaded.nb.cells
        return [i for i in range(end) if cells[i].cell_type == "code" and cells[i].source.strip()
                and i not in self.killers]

    def _fresh_kernel(self, replay_end: int) -> str:
        """Start a new kernel and replay the cells before `replay_end`; '' or what went wrong."""
        config = replace(self.session.config, cells_before=self.executed)
        self.session = KernelSession(config)
        try:
            self.session.start()
        except KernelStartError as exc:
            return str(exc)
        finally:
            _add_session_times(self.execution, self.session)
        cells = self.loaded.nb.cells
        for position in self._replayable(replay_end):
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                return f"the notebook's time limit ({self.timeout:g} s) was reached while replaying"
            run = self._run(cells[position].source, position, remaining)
            if run.kernel_dead:
                self.killers.add(position)
                return f"replaying cell {position} killed the new kernel too"
        return ""


def _spans(positions: list[int]) -> str:
    """'0-3, 5, 7-8' for [0, 1, 2, 3, 5, 7, 8]."""
    spans: list[list[int]] = []
    for p in positions:
        if spans and p == spans[-1][1] + 1:
            spans[-1][1] = p
        else:
            spans.append([p, p])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)
