"""Grade one notebook: load -> execute in the sandbox -> capture per question -> check -> score.

`grade_notebook(path, config)` always returns a `GradeResult`: `execute_notebook` (execute.py) runs the
notebook and captures plain data, `score_execution` scores it, here, with the secrets the kernel never
saw. Re-scoring a cached `Execution` needs no kernel.
"""

from __future__ import annotations

import importlib.metadata
import platform
import time
from pathlib import Path

from grader import __version__ as GRADER_VERSION
from grader.capture import QuestionCapture
from grader.checks.base import ScoreContext
from grader.config import GradeConfig
from grader.execute import Execution, execute_notebook
from grader.expected import Reference
from grader.handout import handout_for, keep_student_text, mark_expected_errors
from grader.ledger import AutoQuestion, build_ledger
from grader.results import GradeResult, QuestionResult, SectionRecord
from grader.score import score_question

__all__ = ["Execution", "GradeConfig", "execute_notebook", "grade_notebook", "score_execution"]


def grade_notebook(path: Path, config: GradeConfig, student: str | None = None) -> GradeResult:
    """Grade one notebook file; never raises for anything the notebook does."""
    return score_execution(execute_notebook(path, config, student), config)



def score_execution(execution: Execution, config: GradeConfig) -> GradeResult:
    """Score every question of the rubric from an execution's captured plain data."""
    start = time.perf_counter() - execution.seconds
    path = Path(execution.notebook)
    if execution.fatal:
        return _fatal_result(config, path, execution.student, execution.notebook_sha256,
                             execution.fatal, start)
    reference = Reference(config.rubric.reference, config.data, config.cache_dir)
    handout = handout_for(config.rubric.handout, config.rubric.folder, config.rubric.source_path)
    questions = []
    scoring = time.perf_counter()
    for q in config.rubric.questions:
        record = keep_student_text(mark_expected_errors(execution.records[q.id], handout),
                                   handout)
        capture = execution.captures.get(q.id) or QuestionCapture(
            capture_error=record.not_run_reason or "not captured")
        ctx = ScoreContext(q.id, reference, config.data, record, execution.sources, {}, {},
                           execution.cell_of_execution)
        scored = score_question(q, capture, ctx)
        if handout is not None and record.cell_indices:
            code = [execution.sources[i] for i in record.cell_indices
                    if i < len(execution.sources)]
            scored.not_attempted = handout.not_attempted(code)
        questions.append(scored)
    result = _result(config, path, execution.student, execution.notebook_sha256, questions,
                     execution.notes, start)
    result.timings = dict(getattr(execution, "timings", {}))  # (executions cached before timings)
    for name, seconds in reference.timings.items():
        key = f"reference {name}"
        result.timings[key] = result.timings.get(key, 0.0) + seconds
    result.timings["score"] = time.perf_counter() - scoring
    return result


def environment(config: GradeConfig) -> dict:
    versions = {}
    for dist in ("torch", "torchvision", "numpy", "scipy", "scikit-learn", "nbclient",
                 "ipykernel", "jupyter_client", "matplotlib"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "grader_version": GRADER_VERSION,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "rubric": config.rubric.source_path,
        "rubric_sha256": config.rubric.sha256,
        "data_fingerprint": config.data.fingerprint,
        "data_seed": 0,
        "sandbox": "bubblewrap (no network, read-only system, private workdir)"
        if config.confine else "none (--unsafe-no-sandbox)",
    }


def _result(config: GradeConfig, path: Path, student: str, sha: str,
            questions: list[QuestionResult], notes: list[str], start: float,
            fatal: str = "") -> GradeResult:
    ledger = build_ledger(student, [AutoQuestion(q.id, q.title, q.status, q.points, q.max_points,
                                                 q.manual_points, q.not_attempted)
                                    for q in questions])  # no person has graded yet
    return GradeResult(
        assignment=config.rubric.assignment,
        student=student,
        notebook=str(path),
        notebook_sha256=sha,
        score=ledger.score,  # grader problems are in neither score nor maximum
        max_score=ledger.max_score,
        pending_manual=ledger.pending_manual,
        questions=questions,
        environment=environment(config),
        data=config.data.summary(),
        seconds=time.perf_counter() - start,
        fatal=fatal,
        notes=notes,
        due=config.rubric.due.isoformat() if config.rubric.due else "",
    )


def _fatal_result(config: GradeConfig, path: Path, student: str, sha: str, message: str,
                  start: float) -> GradeResult:
    questions = [
        QuestionResult(
            id=q.id, title=q.title, status="error", points=0.0, max_points=q.points,
            checks=[], manual_points=q.manual.points if q.manual else 0.0,
            section=SectionRecord(q.id, [], executed=False, not_run_reason=message),
        )
        for q in config.rubric.questions
    ]
    return _result(config, path, student, sha, questions, [], start, fatal=message)
