"""Recording: every result of a run -> reports, the execution cache, the gradebook, Gradescope.

`Recorder` lives in the process that runs `grade` and is the only writer of the output folder:
workers only send their outcomes back.
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Callable

from grader import __version__ as GRADER_VERSION
from grader.batch.discover import BatchInputError, Submission
from grader.batch.plan import plan_signatures, question_plan
from grader.batch.progress import StudentLine
from grader.batch.task import Job, Outcome
from grader.cache import CacheHeader, ExecutionCache
from grader.exports import write_gradescope
from grader.pipeline import GradeConfig, score_execution
from grader.report import atomic_write, write_reports
from grader.results import GradeResult
from grader.store import Gradebook, Provenance, now_iso


class Recorder:
    """Writes every result this run produces; calls `on_line` once per finished student."""

    def __init__(self, gradebook: Gradebook, cache: ExecutionCache, config: GradeConfig,
                 key: dict, settings_sha: str, on_line: Callable[[StudentLine], None]) -> None:
        self.gradebook, self.cache, self.config = gradebook, cache, config
        self.out_dir = gradebook.path.parent
        self.key, self.settings_sha = key, settings_sha
        self.plans = {q.id: question_plan(q) for q in config.rubric.questions}
        self.plan_shas = plan_signatures(config.rubric)
        self.on_line = on_line

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
            self.on_line(StudentLine(job.student, "failed", "executed", None,
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
        start = time.perf_counter()
        json_path, _ = write_reports(result, self.out_dir)
        result.timings["report"] = time.perf_counter() - start
        # the JSON again, now with the report's own time (a few ms; grader/report/ is untouched)
        atomic_write(json_path, json.dumps(result.to_json_dict(), indent=2))
        row = self.gradebook.record_result(result, sha, provenance)
        write_gradescope(self.gradebook, self.out_dir, result.student)
        self.on_line(StudentLine(result.student, row.status, how, row.score, row.max_score,
                                 row.seconds, row.reason, result.grader_problems))

    def _foreign_worker(self, result: GradeResult) -> str:
        """A worker whose grader or data differ from this process's would grade differently."""
        env = result.environment
        if env.get("grader_version") != GRADER_VERSION:
            return (f"a worker runs grader {env.get('grader_version')}, this process "
                    f"{GRADER_VERSION}")
        if env.get("data_fingerprint") != self.config.data.fingerprint:
            return "a worker loaded different data (check --data on every node)"
        return ""
