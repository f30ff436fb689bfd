"""The blank handout, submitted as it was handed out: every question whose section is the
handout's starter code, unchanged, is `not_attempted` in the ledger (counted apart from wrong
answers and errors), in the JSON result and in grades.csv. Kernel: the handout runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import RUBRICS

from grader.exports import write_grades_csv
from grader.outputs import write_student_outputs
from grader.store import Gradebook, Provenance

pytestmark = pytest.mark.kernel


def test_blank_lab9_handout_is_not_attempted_not_failed(grade, lab9_rubric, small_data,
                                                        tmp_path: Path) -> None:
    blank = tmp_path / "blank.ipynb"
    blank.write_bytes((RUBRICS / "handouts" / "lab9.ipynb").read_bytes())
    result = grade(blank, lab9_rubric, small_data)
    assert all(q.not_attempted for q in result.questions), [(q.id, q.status)
                                                             for q in result.questions]
    with Gradebook(tmp_path / "out") as gradebook:
        gradebook.record_result(result, "sha", Provenance("r", "s", "v"))
        write_student_outputs(gradebook, tmp_path / "out", "blank")
        write_grades_csv(gradebook, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "blank.json").read_text())
    statuses = {q["id"]: q["status"] for q in data["questions"]}
    assert set(statuses.values()) == {"not_attempted"}, statuses
    assert data["score"] == 0 and data["max_score"] == 100
    row = next(csv.DictReader((tmp_path / "out" / "grades.csv").open()))
    assert {qid: row[f"{qid} status"] for qid in statuses} == statuses
