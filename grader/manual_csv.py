"""Manual grades as a spreadsheet: the gradebook's manual items -> CSV, and a filled-in CSV ->
validated `ManualGrade`s.

`export_rows(out)` gives one row per student x question with a manual part: `student`, `question`,
`title`, `max_points`, `instructions` (the rubric's), then `points`, `comment`, `grader`, `at` (the
latest grade, empty when none). `read_import(path, out, grader)` reads such a file back (only
`student`, `question`, `points` and `comment` are read; other columns may be anything) and
validates every row before anything is written: an unknown student or question, a question without
a manual part, points that are not a number or outside 0..the manual maximum are each reported as
`FILE:LINE: ...`; with any problem, `ImportProblems` lists them all and nothing is recorded. A row
with empty points is left alone (not graded yet), as is one equal to the grade already standing.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from grader.manual import ManualGrade, manual_items, open_gradebook, validate_manual
from grader.store import now_iso

EXPORT_COLUMNS = ["student", "question", "title", "max_points", "instructions", "points",
                  "comment", "grader", "at"]
REQUIRED_COLUMNS = ("student", "question", "points")


class ImportProblems(ValueError):
    """Every bad row of a manual-grades CSV, one `FILE:LINE: problem` per line."""


@dataclass(frozen=True)
class ImportPlan:
    grades: list[ManualGrade]  # to record
    unchanged: int  # rows equal to the grade standing
    blank: int  # rows with no points (not graded yet)


def export_rows(out: Path) -> list[dict[str, str]]:
    rows = []
    for item in manual_items(out):
        g = item.grade
        rows.append({"student": item.student, "question": item.question, "title": item.title,
                     "max_points": f"{item.max_points:g}", "instructions": item.instructions,
                     "points": "" if g is None else f"{g.points:g}",
                     "comment": "" if g is None else g.comment,
                     "grader": "" if g is None else g.grader, "at": "" if g is None else g.at})
    return rows


def export_csv(out: Path) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(export_rows(out))
    return buffer.getvalue()


def _points(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def read_import(path: Path, out: Path, grader: str) -> ImportPlan:
    """The grades `path` asks for, every row validated; ImportProblems lists what is wrong."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ImportProblems(f"{path}: cannot read: {exc.strerror}") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportProblems(f"{path}:1: missing column(s) {', '.join(missing)} (the header "
                             f"needs {', '.join(REQUIRED_COLUMNS)}; `grade manual export` "
                             "writes one)")
    problems: list[str] = []
    grades: list[ManualGrade] = []
    unchanged = blank = 0
    seen: dict[tuple[str, str], int] = {}
    at = now_iso()
    with open_gradebook(out) as gradebook:
        standing = {(g.student, g.question): g for g in gradebook.manual_grades()}
        for row in reader:
            line = reader.line_num
            student = (row.get("student") or "").strip()
            question = (row.get("question") or "").strip()
            raw = (row.get("points") or "").strip()
            comment = (row.get("comment") or "").strip()
            if not raw:
                blank += 1
                continue
            try:
                points = _points(raw)
            except ValueError:
                problems.append(f"{path}:{line}: points '{raw}' is not a number "
                                f"({student}, question {question})")
                continue
            try:
                max_points = validate_manual(gradebook, student, question, points)
            except ValueError as exc:
                problems.append(f"{path}:{line}: {exc}")
                continue
            key = (student, question)
            if key in seen:
                problems.append(f"{path}:{line}: {student}, question {question} is also on line "
                                f"{seen[key]}")
                continue
            seen[key] = line
            before = standing.get(key)
            if before is not None and before.points == points and before.comment == comment:
                unchanged += 1
                continue
            grades.append(ManualGrade(student, question, points, comment, grader, at,
                                      max_points))
    if problems:
        raise ImportProblems("\n".join(problems))
    return ImportPlan(grades, unchanged, blank)
