"""Deciding what a run does, without running a kernel: who the students are, and when a cached
execution may be re-scored (the plan signature ignores only what changes scoring)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from answers import lab9_notebook, rubric_1_1

from grader.batch.discover import BatchInputError, discover
from grader.batch.plan import describe_plan_change, plan_signatures, question_plan
from grader.rubric import parse_rubric


def test_plan_signature_ignores_points_thresholds_and_names_only() -> None:
    base = parse_rubric(rubric_1_1(), Path("r.yaml"))
    for edit in (lambda t: rubric_1_1(x_points=5),
                 lambda t: t.replace("atol: 0", "atol: 0.5"),
                 lambda t: t.replace("name: y equals the seeded targets", "name: y ok")):
        changed = parse_rubric(edit(rubric_1_1()), Path("r.yaml"))
        assert plan_signatures(changed) == plan_signatures(base)
    for edit in (lambda t: t.replace("artifact: y", "artifact: labels"),
                 lambda t: t.replace("index: 1", "index: 0"),
                 lambda t: t.replace('heading: "Exercise 1.1"', 'heading: "Exercise 1"')):
        changed = parse_rubric(edit(rubric_1_1()), Path("r.yaml"))
        assert plan_signatures(changed) != plan_signatures(base)
    q_old = question_plan(base.questions[0])
    new = parse_rubric(rubric_1_1().replace("index: 1", "index: 0"), Path("r.yaml"))
    sentence = describe_plan_change("1.1", q_old, question_plan(new.questions[0]),
                                    [c.name for c in new.questions[0].checks])
    assert sentence == "question 1.1, check 2 'y equals the seeded targets': expected changed"


def touch_notebook(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(lab9_notebook("pass"), path)
    return path


def test_student_from_file_name_or_from_folder(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    touch_notebook(flat / "alice.ipynb")
    touch_notebook(flat / "bob.ipynb")
    assert [s.student for s in discover([flat])] == ["alice", "bob"]
    nested = tmp_path / "nested"
    touch_notebook(nested / "alice" / "hw2.ipynb")
    touch_notebook(nested / "bob" / "lab.ipynb")
    touch_notebook(nested / "bob" / ".ipynb_checkpoints" / "lab-checkpoint.ipynb")
    assert [s.student for s in discover([nested])] == ["alice", "bob"]
    assert [s.student for s in discover([Path(f"{nested}/*/*.ipynb")])] == ["alice", "bob"]
    assert [s.student for s in discover([nested / "alice" / "hw2.ipynb"])] == ["hw2"]
    assert [s.student for s in discover([nested], "file")] == ["hw2", "lab"]


def test_two_notebooks_for_one_student_is_unusable_input(tmp_path: Path) -> None:
    touch_notebook(tmp_path / "alice" / "a.ipynb")
    touch_notebook(tmp_path / "alice" / "b.ipynb")
    with pytest.raises(BatchInputError, match="two notebooks for student 'alice'"):
        discover([tmp_path])
