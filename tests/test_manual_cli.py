"""`grade manual export / import` and `grade override`: a spreadsheet round trip records grades with
who and when and updates the outputs; a bad row is named by file and line and nothing is written.
Fast: results rebuilt from the golden verdicts, no kernel."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner
from test_ledger import record

from grader.cli import main
from grader.manual import manual_grades, overrides


def grade(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env or {"USER": "ta1"},
                              catch_exceptions=False)


def test_export_lists_every_manual_item_with_the_rubrics_instructions(tmp_path: Path) -> None:
    record(tmp_path, "alice", "erin")
    done = grade("manual", "export", tmp_path, "--to", tmp_path / "m.csv")
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader((tmp_path / "m.csv").open()))
    assert [(r["student"], r["question"]) for r in rows][:2] == [("alice", "1.4"), ("erin",
                                                                                      "1.2.4")]
    assert len(rows) == 1 + 5  # alice's 1.4, erin's five manual parts of hw2
    assert rows[0]["max_points"] == "8" and "plot_matrix_grid" in rows[0]["instructions"]
    assert rows[0]["points"] == "" and "model_answer" not in rows[0]


def test_import_records_every_row_with_the_grader_and_refreshes_the_outputs(
        tmp_path: Path) -> None:
    record(tmp_path, "alice", "bob")
    grade("manual", "export", tmp_path, "--to", tmp_path / "m.csv")
    rows = list(csv.DictReader((tmp_path / "m.csv").open()))
    rows[0].update(points="7", comment="good filters")
    rows[1].update(points="8")
    with (tmp_path / "m.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    done = grade("manual", "import", tmp_path / "m.csv", "--out", tmp_path)
    assert done.exit_code == 0, done.output
    assert "recorded 2 manual grade(s); 0 unchanged" in done.output
    assert [(g.student, g.points, g.grader) for g in manual_grades(tmp_path)] == [
        ("alice", 7, "ta1"), ("bob", 8, "ta1")]
    assert json.loads((tmp_path / "alice.json").read_text())["score"] == 99
    by = {r["student"]: r for r in csv.DictReader((tmp_path / "grades.csv").open())}
    assert (by["alice"]["total"], by["alice"]["1.4 status"]) == ("99", "manual")
    again = grade("manual", "import", tmp_path / "m.csv", "--out", tmp_path, "--grader", "ta2")
    assert "recorded 0 manual grade(s); 2 unchanged" in again.output


def test_import_with_bad_rows_names_each_by_line_and_records_nothing(tmp_path: Path) -> None:
    record(tmp_path, "alice", "bob")
    sheet = tmp_path / "m.csv"
    sheet.write_text("student,question,points,comment\n"
                     "alice,1.4,7,ok\n"
                     "bob,1.4,nine,\n"
                     "carol,1.4,3,\n"
                     "bob,1.1,2,\n"
                     "alice,1.4,12,\n")
    done = grade("manual", "import", sheet, "--out", tmp_path)
    assert done.exit_code == 2
    assert f"{sheet}:3: points 'nine' is not a number" in done.output
    assert f"{sheet}:4: unknown student 'carol'" in done.output
    assert f"{sheet}:5: question 1.1 has no manual part" in done.output
    assert f"{sheet}:6: alice, question 1.4: 12 points is outside 0 to 8" in done.output
    assert "nothing recorded" in done.output
    assert manual_grades(tmp_path) == []


def test_import_without_a_points_column_says_which_columns_it_needs(tmp_path: Path) -> None:
    record(tmp_path, "alice")
    (tmp_path / "m.csv").write_text("student,question,score\nalice,1.4,3\n")
    done = grade("manual", "import", tmp_path / "m.csv", "--out", tmp_path)
    assert done.exit_code == 2 and "m.csv:1: missing column(s) points" in done.output


def test_override_command_records_reason_and_who(tmp_path: Path) -> None:
    record(tmp_path, "bob")
    done = grade("override", tmp_path, "bob", "1.3", "20", "--reason", "regrade request")
    assert done.exit_code == 0, done.output
    assert [(o.points, o.grader, o.reason) for o in overrides(tmp_path)] == [
        (20, "ta1", "regrade request")]
    assert json.loads((tmp_path / "bob.json").read_text())["questions"][2]["status"] == "override"
    refused = grade("override", tmp_path, "bob", "1.3", "25", "--reason", "x")
    assert refused.exit_code == 2 and "outside 0 to 20" in refused.output


def test_manual_export_of_a_folder_without_gradebook_says_so(tmp_path: Path) -> None:
    done = grade("manual", "export", tmp_path)
    assert done.exit_code == 2 and "no gradebook.sqlite here" in done.output
    assert not (tmp_path / "gradebook.sqlite").exists()
