"""Store stage: graded results -> the class gradebook, `<out>/gradebook.sqlite`.

`Gradebook(out_dir)` holds one row per student in `submissions` and one per question in `questions`,
written in one transaction per submission (WAL journal, synchronous=FULL), so a grader killed
mid-batch loses nothing it had already recorded and never leaves half a submission. Only the process
that runs the batch writes results; workers send their results back to that process.

The people's grades live beside the results, keyed by student and question, never touched by a
regrade, `--force` or `--rescore`: `manual_grades` (points for a question's manual part, with the
comment, who and when) and `overrides` (a whole question's points, with the reason, who and when).
Every entry is kept; the latest per student and question wins (grader/ledger.py). `submissions`
keeps the full result (`result`, JSON) so reports can be rendered again without executing anything,
and the ledger's totals (`score`, `max_score`, `pending_manual`), updated when a person grades.

Schema 2 (this grader) adds to schema 1 `submissions.result`, `submissions.auto_score`,
`questions.not_attempted` and the two tables; a schema 1 file is migrated in place when opened.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from grader.gradebook_schema import ADDED_COLUMNS, SCHEMA, SCHEMA_VERSION
from grader.ledger import AutoQuestion, Ledger, build_ledger
from grader.resultio import result_to_dict
from grader.results import GradeResult, ManualGrade, Override

GRADEBOOK_NAME = "gradebook.sqlite"


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
    auto_score: float | None = None


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
    not_attempted: bool = False


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
    problems = result.grader_problems
    if problems:
        ids = ", ".join(qid for qid, _ in problems)
        return f"not counted (the grader's problem, not the notebook's): question {ids}"
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
            self._check_schema()
            self._conn.executescript(SCHEMA)
            self._migrate()
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
        self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, "
                           "value TEXT NOT NULL)")
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise GradebookError(f"{self.path}: written by a newer grader (schema {row[0]})")

    def _migrate(self) -> None:
        """Bring a schema 1 file to this schema (added columns; the new tables exist by now)."""
        for table, column, declaration in ADDED_COLUMNS:
            have = {r[1] for r in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                           (str(SCHEMA_VERSION),))

    def meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

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
        cur = self._conn.execute(f"SELECT {_SUBMISSION_COLUMNS} FROM submissions "
                                 "WHERE student = ?", (student,))
        row = cur.fetchone()
        return _submission_row(cur, row) if row else None

    def submissions(self) -> list[SubmissionRow]:
        cur = self._conn.execute(f"SELECT {_SUBMISSION_COLUMNS} FROM submissions "
                                 "ORDER BY student")
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
            d["not_attempted"] = bool(d["not_attempted"])
            out.append(QuestionRow(**d))
        return out

    def question_ids(self) -> list[str]:
        """Every question id recorded, in the rubric's order."""
        rows = self._conn.execute("SELECT question_id FROM questions GROUP BY question_id "
                                  "ORDER BY MIN(position), question_id").fetchall()
        return [r[0] for r in rows]

    def stored_result(self, student: str) -> dict[str, Any] | None:
        """The full result recorded for `student` (JSON, grader/resultio.py), or None."""
        row = self._conn.execute("SELECT result FROM submissions WHERE student = ?",
                                 (student,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def manual_grades(self) -> list[ManualGrade]:
        rows = self._conn.execute("SELECT student, question_id, points, comment, grader, at, "
                                  "max_points FROM manual_grades ORDER BY id").fetchall()
        return [ManualGrade(*r) for r in rows]

    def overrides(self) -> list[Override]:
        rows = self._conn.execute("SELECT student, question_id, points, reason, grader, at, "
                                  "removed FROM overrides ORDER BY id").fetchall()
        return [Override(*r[:6], removed=bool(r[6])) for r in rows]

    def add_manual_grade(self, grade: ManualGrade) -> None:
        self._conn.execute("INSERT INTO manual_grades (student, question_id, points, max_points, "
                           "comment, grader, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (grade.student, grade.question, grade.points, grade.max_points,
                            grade.comment, grade.grader, grade.at))

    def add_manual_grades(self, grades: list[ManualGrade]) -> None:
        """All of `grades` in one transaction, or none."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for g in grades:
                self.add_manual_grade(g)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def add_override(self, override: Override) -> None:
        self._conn.execute("INSERT INTO overrides (student, question_id, points, reason, grader, "
                           "at, removed) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (override.student, override.question, override.points,
                            override.reason, override.grader, override.at,
                            int(override.removed)))

    def ledger(self, student: str, grades: list[ManualGrade] | None = None,
               overrides: list[Override] | None = None) -> Ledger:
        """The student's points with the people's grades (grader/ledger.py), from the rows."""
        autos = [AutoQuestion(q.question_id, q.title, q.status, q.points, q.max_points,
                              q.manual_points, q.not_attempted) for q in self.questions(student)]
        return build_ledger(student, autos,
                            self.manual_grades() if grades is None else grades,
                            self.overrides() if overrides is None else overrides)

    def update_totals(self, student: str, score: float | None, max_score: float,
                      pending_manual: float) -> None:
        """The ledger's totals (people's grades included) on the student's row."""
        self._conn.execute("UPDATE submissions SET score = ?, max_score = ?, pending_manual = ? "
                           "WHERE student = ?", (score, max_score, pending_manual, student))

    # -- writing -------------------------------------------------------------------------------
    def record_result(self, result: GradeResult, notebook_sha256: str,
                      provenance: Provenance) -> SubmissionRow:
        """Write one graded (or failed-to-grade) submission and its questions, atomically; its
        totals are the ledger's, with the people's grades already recorded for the student."""
        ledger = build_ledger(result.student, [
            AutoQuestion(q.id, q.title, q.status, q.points, q.max_points, q.manual_points,
                         q.not_attempted) for q in result.questions],
            self.manual_grades(), self.overrides())
        sub = SubmissionRow(
            student=result.student, assignment=result.assignment, notebook=result.notebook,
            notebook_sha256=notebook_sha256, rubric_sha256=provenance.rubric_sha256,
            settings_sha256=provenance.settings_sha256,
            grader_version=provenance.grader_version, environment=result.environment,
            score=ledger.score, max_score=ledger.max_score,
            pending_manual=ledger.pending_manual,
            status="failed" if result.fatal else "graded", reason=result_reason(result),
            grader_error=False, seconds=result.seconds, graded_at=now_iso(),
            executed_at=provenance.executed_at, worker=provenance.worker,
            auto_score=result.score,
        )
        questions = [
            QuestionRow(
                student=result.student, question_id=q.id, position=i, title=q.title,
                status=q.status, points=q.points, max_points=q.max_points,
                manual_points=q.manual_points,
                messages=[{"name": c.name, "passed": c.passed, "message": c.message,
                           "points": c.points, "max_points": c.max_points,
                           "grader_problem": c.grader_problem,
                           "student_message": c.student_message, "visibility": c.visibility,
                           "hint": c.hint} for c in q.checks],
                errors=[{"cell_index": e.cell_index, "ename": e.ename, "evalue": e.evalue[:500],
                         "expected": e.expected[:300]}
                        for e in (q.section.errors if q.section else [])],
                seconds=q.section.seconds if q.section else 0.0,
                executed=bool(q.section and q.section.executed),
                not_run_reason=q.section.not_run_reason if q.section else "",
                plan_sha256=provenance.plan_sha256.get(q.id, ""),
                not_attempted=q.not_attempted,
            )
            for i, q in enumerate(result.questions)
        ]
        self._write(sub, questions, json.dumps(result_to_dict(result)))
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

    def _write(self, sub: SubmissionRow, questions: list[QuestionRow], result: str = "") -> None:
        values = dict(sub.__dict__, environment=json.dumps(sub.environment, sort_keys=True),
                      grader_error=int(sub.grader_error), result=result)
        columns = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute("DELETE FROM questions WHERE student = ?", (sub.student,))
            self._conn.execute(f"INSERT OR REPLACE INTO submissions ({columns}) VALUES ({marks})",
                               values)
            for q in questions:
                qv = dict(q.__dict__, messages=json.dumps(q.messages),
                          errors=json.dumps(q.errors), executed=int(q.executed),
                          not_attempted=int(q.not_attempted))
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


_SUBMISSION_COLUMNS = ", ".join(f.name for f in fields(SubmissionRow))


