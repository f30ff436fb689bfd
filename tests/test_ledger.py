"""One points ledger: JSON, HTML, grades.csv, the gradebook, Gradescope and the terminal agree on
automatic, manual (awarded, pending) and overridden points; people's grades are recorded with who
and when and survive a regrade. Fast: results rebuilt from the golden verdicts, no kernel."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from golden_results import golden_names, golden_result
from rich.console import Console

from grader.batch.progress import print_student
from grader.exports import write_grades_csv
from grader.ledger import AutoQuestion, build_ledger
from grader.manual import (
    manual_grades,
    overrides,
    record_manual,
    record_override,
    refresh_outputs,
    remove_override,
)
from grader.outputs import write_student_outputs
from grader.results import ManualGrade
from grader.store import Gradebook, Provenance


def record(out: Path, *names: str) -> None:
    with Gradebook(out) as gradebook:
        for name in names:
            gradebook.record_result(golden_result(name), "sha", Provenance("r", "s", "v"))
            write_student_outputs(gradebook, out, name)
        write_grades_csv(gradebook, out)


def outputs(out: Path, student: str) -> dict:
    """Every output's view of one student: {output: (score, max, pending, {qid: (points, status)})}."""
    result = json.loads((out / f"{student}.json").read_text())
    gradescope = json.loads((out / "gradescope" / student / "results.json").read_text())
    with (out / "grades.csv").open(newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["student"] == student)
    with Gradebook(out) as gradebook:
        sub = gradebook.submission(student)
        console = Console(record=True, width=250)
        print_student(sub, gradebook.questions(student), "executed", console,
                      gradebook.ledger(student))
        terminal = console.export_text()
    html = (out / f"{student}.html").read_text()
    html_score = re.search(r'<div class="score">([\d.]+) <span class="meta">/ ([\d.]+) points',
                           html)
    html_pending = re.search(r"([\d.]+) points await a human reviewer", html)
    term_pending = re.search(r"([\d.]+) points await manual review", terminal)
    term_score = re.search(rf"{student}: ([\d.]+) / ([\d.]+)", terminal)
    qids = [q["id"] for q in result["questions"]]
    return {
        "json": (result["score"], result["max_score"], result["pending_manual"],
                 {q["id"]: (q["points"], q["status"]) for q in result["questions"]}),
        "gradescope": (gradescope["score"], sum(t["max_score"] for t in gradescope["tests"]),
                       None, {t["number"]: (t["score"], None) for t in gradescope["tests"]}),
        "csv": (float(row["total"]), float(row["max"]), float(row["pending_manual"]),
                {q: (float(row[q]) if row[q] else 0.0, row[f"{q} status"]) for q in qids}),
        "gradebook": (sub.score, sub.max_score, sub.pending_manual, None),
        "html": (float(html_score[1]), float(html_score[2]),
                 float(html_pending[1]) if html_pending else 0.0, None),
        "terminal": (float(term_score[1]), float(term_score[2]),
                     float(term_pending[1]) if term_pending else 0.0, None),
    }


def assert_agree(views: dict) -> None:
    score, max_score, pending, questions = views["json"]
    for name, (s, m, p, qs) in views.items():
        assert round(s, 1) == round(score, 1), (name, views)
        assert m == max_score, (name, views)
        if p is not None:
            assert p == pending, (name, views)
        for qid, (points, status) in (qs or {}).items():
            assert points == questions[qid][0], (name, qid, views)
            if status is not None:
                assert status == questions[qid][1], (name, qid, views)


@pytest.mark.parametrize("name", golden_names())
def test_every_output_agrees_on_every_examples_points(tmp_path: Path, name: str) -> None:
    record(tmp_path, name)
    assert_agree(outputs(tmp_path, name))


def test_errored_question_with_a_manual_part_is_pending_in_every_output_1_4(
        tmp_path: Path) -> None:
    record(tmp_path, "handout_lab9")
    views = outputs(tmp_path, "handout_lab9")
    assert_agree(views)
    assert views["json"][2] == 8 and views["json"][3]["1.4"] == (0, "error")
    html = (tmp_path / "handout_lab9.html").read_text()
    assert "8 points await a reviewer" in html and "awarded by" not in html
    results = json.loads((tmp_path / "gradescope/handout_lab9/results.json").read_text())
    assert results["output"].startswith("Cell 13 raised an error") and "All cells ran" not in \
        results["output"]
    test = results["tests"][3]
    assert (test["number"], test["score"], test["max_score"], test["status"]) == ("1.4", 0, 10,
                                                                                  "failed")
    assert "8 of this question's 10 points are graded by hand" in test["output"]


def test_manual_grade_is_recorded_with_who_and_when_and_every_output_follows(
        tmp_path: Path) -> None:
    record(tmp_path, "alice", "bob")
    grade = record_manual(tmp_path, "alice", "1.4", 6, "filters plotted, no comment on sign",
                          "ta1")
    assert (grade.grader, grade.points, grade.at[:2]) == ("ta1", 6.0, "20")
    views = outputs(tmp_path, "alice")
    assert_agree(views)
    assert views["json"][:3] == (98.0, 100.0, 0.0)
    assert views["json"][3]["1.4"] == (8.0, "manual")
    assert "6/8 points awarded by ta1" in (tmp_path / "alice.html").read_text()
    assert outputs(tmp_path, "bob")["json"][2] == 8  # only alice changed
    record_manual(tmp_path, "alice", "1.4", 7, "on second look", "ta2")  # latest wins
    assert outputs(tmp_path, "alice")["json"][0] == 99.0
    assert [(g.grader, g.points) for g in manual_grades(tmp_path)] == [("ta1", 6), ("ta2", 7)]


@pytest.mark.parametrize(("student", "question", "points", "said"), [
    ("alice", "1.4", 9, "9 points is outside 0 to 8, the manual part's maximum"),
    ("alice", "1.4", -1, "outside 0 to 8"),
    ("alice", "1.1", 1, "question 1.1 has no manual part (questions graded by hand: 1.4)"),
    ("alice", "9.9", 1, "unknown question '9.9' for alice"),
    ("mallory", "1.4", 1, "unknown student 'mallory'"),
])
def test_manual_grade_out_of_range_or_unknown_is_refused_and_nothing_written(
        tmp_path: Path, student: str, question: str, points: float, said: str) -> None:
    record(tmp_path, "alice")
    with pytest.raises(ValueError, match=re.escape(said)):
        record_manual(tmp_path, student, question, points, "", "ta1")
    assert manual_grades(tmp_path) == []


def test_override_needs_a_reason_wins_over_the_checks_and_can_be_removed(tmp_path: Path) -> None:
    record(tmp_path, "bob")
    with pytest.raises(ValueError, match="needs a reason"):
        record_override(tmp_path, "bob", "1.3", 20, " ", "prof")
    with pytest.raises(ValueError, match="outside 0 to 20"):
        record_override(tmp_path, "bob", "1.3", 21, "regrade", "prof")
    before = outputs(tmp_path, "bob")["json"]
    record_override(tmp_path, "bob", "1.3", 20, "regrade request: seed differs", "prof")
    after = outputs(tmp_path, "bob")
    assert_agree(after)
    assert after["json"][3]["1.3"] == (20, "override")
    assert after["json"][0] == before[0] + 20 - before[3]["1.3"][0]
    data = json.loads((tmp_path / "bob.json").read_text())
    assert data["questions"][2]["override"]["reason"] == "regrade request: seed differs"
    assert "Points set by prof" in (tmp_path / "bob.html").read_text()
    with (tmp_path / "grades.csv").open() as fh:
        assert next(r for r in csv.DictReader(fh))["overrides"] == "1.3"
    remove_override(tmp_path, "bob", "1.3", "withdrawn", "prof")
    assert outputs(tmp_path, "bob")["json"] == before
    assert [o.removed for o in overrides(tmp_path)] == [False, True]


def test_people_grades_survive_a_regrade(tmp_path: Path) -> None:
    record(tmp_path, "alice")
    record_manual(tmp_path, "alice", "1.4", 8, "", "ta1")
    record_override(tmp_path, "alice", "1.1", 5, "copied", "prof")
    with Gradebook(tmp_path) as gradebook:  # graded again: the row's totals are the ledger's at once
        row = gradebook.record_result(golden_result("alice"), "sha", Provenance("r", "s", "v"))
    assert (row.score, row.pending_manual, row.auto_score) == (95.0, 0.0, 92.0)
    record(tmp_path, "alice")  # graded again (--force, --rescore): a new row, the same people
    assert outputs(tmp_path, "alice")["json"][:3] == (95.0, 100.0, 0.0)


def test_manual_grade_above_a_lowered_manual_maximum_is_held_and_said() -> None:
    auto = AutoQuestion("1.4", "Plot", "manual", 2, 8, 6)
    grade = ManualGrade("a", "1.4", 8, "", "ta1", "2026-01-01T00:00:00+00:00", 8)
    q = build_ledger("a", [auto], [grade]).questions[0]
    assert (q.points, q.manual_pending, q.status) == (2, 6, "manual_pending")
    assert "above the rubric's manual maximum, now 6 (it was 8)" in q.notes[0]
    lower = replace(grade, points=5)
    q = build_ledger("a", [auto], [lower]).questions[0]
    assert (q.points, q.manual_pending, q.status) == (7, 0, "manual")
    assert "given out of 8; the rubric's manual maximum is now 6" in q.notes[0]


def test_override_above_a_lowered_question_maximum_is_held_and_said() -> None:
    from grader.results import Override

    auto = AutoQuestion("1.3", "Train", "partial", 12, 15, 0)
    override = Override("a", "1.3", 20, "regrade", "prof", "2026-01-01T00:00:00+00:00")
    q = build_ledger("a", [auto], overrides=[override]).questions[0]
    assert (q.status, q.points, q.max_points, q.override) == ("partial", 12, 15, None)
    assert "override 20 (prof, 2026-01-01T00:00:00+00:00) is above the question's points, now 15" \
        in q.notes[0]


def test_untouched_starter_code_is_not_attempted_not_failed() -> None:
    auto = AutoQuestion("2.1", "Load", "fail", 0, 15, 0, not_attempted=True)
    ledger = build_ledger("a", [auto])
    assert (ledger.questions[0].status, ledger.max_score, ledger.counts()["not_attempted"]) == (
        "not_attempted", 15, 1)


def test_schema_1_gradebook_is_migrated_keeping_its_rows(tmp_path: Path) -> None:
    record(tmp_path, "alice")
    with sqlite3.connect(tmp_path / "gradebook.sqlite") as conn:  # make it a schema 1 file
        for table, column in (("submissions", "auto_score"), ("submissions", "result"),
                              ("questions", "not_attempted")):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute("DROP TABLE manual_grades")
        conn.execute("DROP TABLE overrides")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    record_manual(tmp_path, "alice", "1.4", 4, "", "ta1")  # opens, migrates, records
    with Gradebook(tmp_path) as gradebook:
        assert gradebook.meta("schema_version") == "2"
        assert gradebook.submission("alice").score == 96.0
    with (tmp_path / "grades.csv").open() as fh:
        assert next(csv.DictReader(fh))["total"] == "96"


def test_refresh_outputs_keeps_the_roster_of_the_last_run(tmp_path: Path) -> None:
    record(tmp_path, "alice")
    with Gradebook(tmp_path) as gradebook:
        write_grades_csv(gradebook, tmp_path, None, ["alice", "zoe"])
    refresh_outputs(tmp_path)
    with (tmp_path / "grades.csv").open() as fh:
        assert [(r["student"], r["status"]) for r in csv.DictReader(fh)] == [
            ("alice", "graded"), ("zoe", "missing")]
