"""Store stage: graded results -> the class gradebook (SQLite) and the cache of executions.

`Gradebook(out_dir)` is `<out>/gradebook.sqlite`: one row per student in `submissions` and one per
question in `questions`, written in one transaction per submission (WAL journal, synchronous=FULL), so
a grader killed mid-batch loses nothing it had already recorded and never leaves half a submission.
Only the process that runs the batch writes it; workers send their results back to that process.

`ExecutionCache(out_dir)` keeps each student's last `Execution` under `<out>/.cache/executions/`
(pickled: the grader produced it from validated plain data; the folder is the grader's, mode 0700,
never inside a sandbox), together with the signatures that decide whether it may be re-scored.

The re-score rule (`grade --rescore`): a cached execution can be scored against a new rubric when
 - the notebook file is byte-identical (same sha256),
 - the execution settings are equal: the rubric's reference module, data layouts, execution time
   limits, resource limits, forbidden calls and the list of (question id, heading) pairs (sections are
   cut at headings), plus the data's fingerprint, --cell-timeout, --notebook-timeout and the sandbox;
 - every question's *plan* is equal: its heading and its checks in order, each as its type and
   parameters with the score-only fields (`SCORE_ONLY_FIELDS`, at any depth) removed.
Anything else a check says may change what is asked of the notebook, so it counts as a change.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from grader.results import GradeResult
from grader.rubric import QuestionSpec, Rubric

GRADEBOOK_NAME = "gradebook.sqlite"
CACHE_DIR_NAME = ".cache"
SCHEMA_VERSION = 1
CACHE_FORMAT = 1

SCORE_ONLY_FIELDS = frozenset({
    "points", "name", "threshold", "tiers", "min", "max", "atol", "rtol", "margin", "weight_atol",
    "loss_rtol", "requires",
})
"""Check fields that change how captured data is scored, never what is captured."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    student TEXT PRIMARY KEY,
    assignment TEXT NOT NULL,
    notebook TEXT NOT NULL,               -- path as given on the command line
    notebook_sha256 TEXT NOT NULL,        -- of the file's bytes; '' when it could not be read
    rubric_sha256 TEXT NOT NULL,
    settings_sha256 TEXT NOT NULL,        -- data, time-limit overrides, sandbox, reference source
    grader_version TEXT NOT NULL,
    environment TEXT NOT NULL,            -- JSON: versions, platform, sandbox (from the worker)
    score REAL,                           -- NULL when the grader itself failed
    max_score REAL NOT NULL,
    pending_manual REAL NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('graded', 'failed')),
    reason TEXT NOT NULL DEFAULT '',      -- why it failed, or what stopped execution early
    grader_error INTEGER NOT NULL DEFAULT 0,  -- 1: the grader failed, not the notebook: retried
    seconds REAL NOT NULL DEFAULT 0,
    graded_at TEXT NOT NULL,              -- ISO 8601, UTC
    executed_at TEXT NOT NULL DEFAULT '', -- when the notebook last ran ('' if it never did)
    worker TEXT NOT NULL DEFAULT ''       -- host:pid that executed it
);
CREATE TABLE IF NOT EXISTS questions (
    student TEXT NOT NULL REFERENCES submissions(student) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,                 -- pass, partial, fail, error, manual
    points REAL NOT NULL,
    max_points REAL NOT NULL,
    manual_points REAL NOT NULL DEFAULT 0,
    messages TEXT NOT NULL,               -- JSON list of {name, passed, message, points, max_points}
    errors TEXT NOT NULL,                 -- JSON list of {cell_index, ename, evalue}
    seconds REAL NOT NULL DEFAULT 0,      -- time spent running and inspecting the section
    executed INTEGER NOT NULL DEFAULT 0,
    not_run_reason TEXT NOT NULL DEFAULT '',
    plan_sha256 TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (student, question_id)
);
"""


class GradebookError(ValueError):
    """A gradebook this grader cannot use (another assignment, a newer schema, not SQLite)."""


@dataclass(frozen=True)
class SubmissionRow:
    student: str
    assignment: str
    notebook: str
    notebook_sha256: str
    rubric_sha256: str
    settings_sha256: str
    grader_version: str
    environment: dict[str, Any]
    score: float | None
    max_score: float
    pending_manual: float
    status: str
    reason: str
    grader_error: bool
    seconds: float
    graded_at: str
    executed_at: str
    worker: str


@dataclass(frozen=True)
class QuestionRow:
    student: str
    question_id: str
    position: int
    title: str
    status: str
    points: float
    max_points: float
    manual_points: float
    messages: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    seconds: float
    executed: bool
    not_run_reason: str
    plan_sha256: str


@dataclass(frozen=True)
class Provenance:
    """What a result was graded with, beyond the result itself."""

    rubric_sha256: str
    settings_sha256: str
    grader_version: str
    plan_sha256: dict[str, str] = field(default_factory=dict)  # question id -> plan signature
    worker: str = ""
    executed_at: str = ""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def result_reason(result: GradeResult) -> str:
    """The one sentence the gradebook keeps: why grading failed, or what cut execution short."""
    if result.fatal:
        return result.fatal
    for q in result.questions:
        if q.section is not None and q.section.not_run_reason:
            return q.section.not_run_reason
    return ""


class Gradebook:
    """`<out>/gradebook.sqlite`; use as a context manager."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / GRADEBOOK_NAME
        self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(SCHEMA)
            self._check_schema()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise GradebookError(f"{self.path}: not a usable gradebook: {exc}") from None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def _check_schema(self) -> None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                               (str(SCHEMA_VERSION),))
        elif int(row[0]) > SCHEMA_VERSION:
            raise GradebookError(f"{self.path}: written by a newer grader (schema {row[0]})")

    def claim(self, assignment: str) -> None:
        """Bind this gradebook to one assignment; refuse one that belongs to another."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'assignment'").fetchone()
        if row is None:
            self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('assignment', ?)", (assignment,))
        elif row[0] != assignment:
            raise GradebookError(f"{self.path} holds grades for '{row[0]}', not '{assignment}': "
                                 "use another --out folder for this assignment")

    # -- reading -------------------------------------------------------------------------------
    def submission(self, student: str) -> SubmissionRow | None:
        cur = self._conn.execute("SELECT * FROM submissions WHERE student = ?", (student,))
        row = cur.fetchone()
        return _submission_row(cur, row) if row else None

    def submissions(self) -> list[SubmissionRow]:
        cur = self._conn.execute("SELECT * FROM submissions ORDER BY student")
        return [_submission_row(cur, row) for row in cur.fetchall()]

    def questions(self, student: str) -> list[QuestionRow]:
        cur = self._conn.execute(
            "SELECT * FROM questions WHERE student = ? ORDER BY position", (student,))
        names = [d[0] for d in cur.description]
        out = []
        for row in cur.fetchall():
            d = dict(zip(names, row, strict=True))
            d["messages"] = json.loads(d["messages"])
            d["errors"] = json.loads(d["errors"])
            d["executed"] = bool(d["executed"])
            out.append(QuestionRow(**d))
        return out

    # -- writing -------------------------------------------------------------------------------
    def record_result(self, result: GradeResult, notebook_sha256: str,
                      provenance: Provenance) -> SubmissionRow:
        """Write one graded (or failed-to-grade) submission and its questions, atomically."""
        sub = SubmissionRow(
            student=result.student, assignment=result.assignment, notebook=result.notebook,
            notebook_sha256=notebook_sha256, rubric_sha256=provenance.rubric_sha256,
            settings_sha256=provenance.settings_sha256,
            grader_version=provenance.grader_version, environment=result.environment,
            score=result.score, max_score=result.max_score,
            pending_manual=result.pending_manual,
            status="failed" if result.fatal else "graded", reason=result_reason(result),
            grader_error=False, seconds=result.seconds, graded_at=now_iso(),
            executed_at=provenance.executed_at, worker=provenance.worker,
        )
        questions = [
            QuestionRow(
                student=result.student, question_id=q.id, position=i, title=q.title,
                status=q.status, points=q.points, max_points=q.max_points,
                manual_points=q.manual_points,
                messages=[{"name": c.name, "passed": c.passed, "message": c.message,
                           "points": c.points, "max_points": c.max_points} for c in q.checks],
                errors=[{"cell_index": e.cell_index, "ename": e.ename, "evalue": e.evalue[:500]}
                        for e in (q.section.errors if q.section else [])],
                seconds=q.section.seconds if q.section else 0.0,
                executed=bool(q.section and q.section.executed),
                not_run_reason=q.section.not_run_reason if q.section else "",
                plan_sha256=provenance.plan_sha256.get(q.id, ""),
            )
            for i, q in enumerate(result.questions)
        ]
        self._write(sub, questions)
        return sub

    def record_grader_failure(self, student: str, assignment: str, notebook: str,
                              notebook_sha256: str, max_score: float, reason: str,
                              provenance: Provenance, seconds: float = 0.0) -> SubmissionRow:
        """Record that the grader (not the notebook) failed; the next run retries this student."""
        sub = SubmissionRow(
            student=student, assignment=assignment, notebook=notebook,
            notebook_sha256=notebook_sha256, rubric_sha256=provenance.rubric_sha256,
            settings_sha256=provenance.settings_sha256,
            grader_version=provenance.grader_version, environment={}, score=None,
            max_score=max_score, pending_manual=0.0, status="failed", reason=reason,
            grader_error=True, seconds=seconds, graded_at=now_iso(), executed_at="",
            worker=provenance.worker,
        )
        self._write(sub, [])
        return sub

    def _write(self, sub: SubmissionRow, questions: list[QuestionRow]) -> None:
        values = dict(sub.__dict__, environment=json.dumps(sub.environment, sort_keys=True),
                      grader_error=int(sub.grader_error))
        columns = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute("DELETE FROM questions WHERE student = ?", (sub.student,))
            self._conn.execute(f"INSERT OR REPLACE INTO submissions ({columns}) VALUES ({marks})",
                               values)
            for q in questions:
                qv = dict(q.__dict__, messages=json.dumps(q.messages),
                          errors=json.dumps(q.errors), executed=int(q.executed))
                self._conn.execute(
                    f"INSERT INTO questions ({', '.join(qv)}) VALUES "
                    f"({', '.join(f':{k}' for k in qv)})", qv)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise


def _submission_row(cur: sqlite3.Cursor, row: tuple) -> SubmissionRow:
    d = dict(zip([c[0] for c in cur.description], row, strict=True))
    d["environment"] = json.loads(d["environment"] or "{}")
    d["grader_error"] = bool(d["grader_error"])
    return SubmissionRow(**d)


# -- signatures --------------------------------------------------------------------------------
def _without_score_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_score_fields(v) for k, v in sorted(value.items())
                if k not in SCORE_ONLY_FIELDS}
    if isinstance(value, list | tuple):
        return [_without_score_fields(v) for v in value]
    return value


def question_plan(question: QuestionSpec) -> dict[str, Any]:
    """What a question asks of a notebook: its heading and its checks minus score-only fields."""
    return {
        "heading": question.heading,
        "checks": [{"type": c.type, "params": _without_score_fields(c.params)}
                   for c in question.checks],
    }


def _sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def plan_signatures(rubric: Rubric) -> dict[str, str]:
    """Question id -> sha256 of its plan (see the module docstring)."""
    return {q.id: _sha(question_plan(q)) for q in rubric.questions}


def execution_key(rubric: Rubric, data_fingerprint: str, cell_timeout: float | None,
                  notebook_timeout: float | None, confine: bool) -> dict[str, Any]:
    """Everything outside the questions' checks that shapes what an execution captured."""
    return {
        "reference": rubric.reference,
        "data": rubric.data.model_dump(),
        "execution": rubric.execution.model_dump(),
        "limits": rubric.limits.model_dump(),
        "forbidden_calls": list(rubric.forbidden_calls),
        "sections": [[q.id, q.heading] for q in rubric.questions],
        "data_fingerprint": data_fingerprint,
        "cell_timeout": cell_timeout,
        "notebook_timeout": notebook_timeout,
        "sandbox": confine,
    }


def reference_source_sha256(module: str) -> str:
    """sha256 of reference/<module>.py, read without importing it (it imports torch)."""
    path = Path(__file__).resolve().parents[1] / "reference" / f"{module}.py"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def settings_sha256(key: dict[str, Any], reference_sha256: str) -> str:
    """What, besides notebook, rubric and grader version, must be unchanged to skip a student."""
    return _sha({"execution": key, "reference_source": reference_sha256})


def describe_plan_change(qid: str, old: dict[str, Any] | None, new: dict[str, Any],
                         names: list[str]) -> str:
    """One sentence saying how a question's plan changed (`names`: the new checks' names)."""
    if old is None:
        return f"question {qid} is new in the rubric"
    if old["heading"] != new["heading"]:
        return f"question {qid}: the heading changed ('{old['heading']}' -> '{new['heading']}')"
    if len(old["checks"]) != len(new["checks"]):
        return (f"question {qid}: it has {len(new['checks'])} checks, the executions were "
                f"captured for {len(old['checks'])}")
    for i, (a, b) in enumerate(zip(old["checks"], new["checks"], strict=True)):
        label = f"check {i + 1}" + (f" '{names[i]}'" if i < len(names) and names[i] else "")
        if a["type"] != b["type"]:
            return f"question {qid}, {label}: type changed ({a['type']} -> {b['type']})"
        keys = sorted(k for k in set(a["params"]) | set(b["params"])
                      if a["params"].get(k) != b["params"].get(k))
        if keys:
            return f"question {qid}, {label}: {', '.join(keys)} changed"
    return f"question {qid}: its plan changed"


def describe_key_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    words = {
        "sections": "the rubric's questions or headings (sections are cut at headings)",
        "data_fingerprint": "the data (--data / --train-limit)",
        "sandbox": "the sandbox setting",
    }
    return "the execution settings changed: " + ", ".join(words.get(k, k) for k in keys)


# -- execution cache ---------------------------------------------------------------------------
@dataclass
class CacheHeader:
    """What a cached execution was captured for: read without loading the execution itself."""

    notebook_sha256: str
    grader_version: str
    execution_key: dict[str, Any]
    plans: dict[str, dict[str, Any]]  # question id -> question_plan()
    executed_at: str
    worker: str
    format: int = CACHE_FORMAT


class ExecutionCache:
    """`<out>/.cache/executions/<student>-<hash>.pkl`: a `CacheHeader` pickle, then the Execution.

    Written atomically, only by the batch's own process.
    """

    def __init__(self, out_dir: Path) -> None:
        self.root = out_dir / CACHE_DIR_NAME
        self.dir = self.root / "executions"

    def path_for(self, student: str) -> Path:
        digest = hashlib.sha256(student.encode()).hexdigest()[:12]
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in student)[:60]
        return self.dir / f"{safe}-{digest}.pkl"

    def save(self, student: str, header: CacheHeader, execution: Any) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        path = self.path_for(student)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as fh:
                pickle.dump(header, fh, protocol=pickle.HIGHEST_PROTOCOL)
                pickle.dump(execution, fh, protocol=pickle.HIGHEST_PROTOCOL)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def header(self, student: str) -> CacheHeader | None:
        """The header, or None when there is no cache entry or it is from another format."""
        loaded = self._load(student, body=False)
        return loaded[0] if loaded else None

    def execution(self, student: str) -> Any | None:
        """The cached `Execution`, or None."""
        loaded = self._load(student, body=True)
        return loaded[1] if loaded else None

    def _load(self, student: str, body: bool) -> tuple[CacheHeader, Any] | None:
        try:
            with self.path_for(student).open("rb") as fh:
                # Written by this grader from validated plain data, in a folder only it uses.
                header = pickle.load(fh)
                if not isinstance(header, CacheHeader) or header.format != CACHE_FORMAT:
                    return None
                return header, (pickle.load(fh) if body else None)
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001  (truncated, or from an incompatible grader: re-execute)
            return None
