"""The gradebook's SQL schema (grader/store.py reads and writes it), and what each version added.

Schema 1: `meta`, `submissions`, `questions`. Schema 2 adds `submissions.auto_score`,
`submissions.result`, `questions.not_attempted` (`ADDED_COLUMNS`: store.py adds them to a schema 1
file when it opens one) and the people's tables `manual_grades` and `overrides`.
"""

from __future__ import annotations

SCHEMA_VERSION = 2

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
    worker TEXT NOT NULL DEFAULT '',      -- host:pid that executed it
    auto_score REAL,                      -- the checks' points alone (score: the ledger's total)
    result TEXT NOT NULL DEFAULT ''       -- JSON of the full result (grader/resultio.py)
);
CREATE TABLE IF NOT EXISTS questions (
    student TEXT NOT NULL REFERENCES submissions(student) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,                 -- pass, partial, fail, error, manual, grader_error
    points REAL NOT NULL,
    max_points REAL NOT NULL,
    manual_points REAL NOT NULL DEFAULT 0,
    messages TEXT NOT NULL,               -- JSON list of {name, passed, message, points, max_points}
    errors TEXT NOT NULL,                 -- JSON list of {cell_index, ename, evalue}
    seconds REAL NOT NULL DEFAULT 0,      -- time spent running and inspecting the section
    executed INTEGER NOT NULL DEFAULT 0,
    not_run_reason TEXT NOT NULL DEFAULT '',
    plan_sha256 TEXT NOT NULL DEFAULT '',
    not_attempted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (student, question_id)
);
CREATE TABLE IF NOT EXISTS manual_grades (  -- every entry kept; the latest per (student, question) wins
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    student TEXT NOT NULL,
    question_id TEXT NOT NULL,
    points REAL NOT NULL,
    max_points REAL NOT NULL,             -- the manual part's maximum when it was graded
    comment TEXT NOT NULL DEFAULT '',
    grader TEXT NOT NULL,
    at TEXT NOT NULL                      -- ISO 8601, UTC
);
CREATE TABLE IF NOT EXISTS overrides (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    student TEXT NOT NULL,
    question_id TEXT NOT NULL,
    points REAL NOT NULL,
    reason TEXT NOT NULL,
    grader TEXT NOT NULL,
    at TEXT NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0    -- 1: withdraws the override before it
);
"""

# columns schema 2 added to schema 1's tables: (table, column, declaration)
ADDED_COLUMNS = (
    ("submissions", "auto_score", "REAL"),
    ("submissions", "result", "TEXT NOT NULL DEFAULT ''"),
    ("questions", "not_attempted", "INTEGER NOT NULL DEFAULT 0"),
)
