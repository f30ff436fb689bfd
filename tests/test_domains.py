"""Input domains (grader/checks/domains.py): the grader's inputs are checked against the domain
the reference states before anything is sent; an input outside it is the grader's problem,
excluded from the score and the maximum, never the student's points. Fast: no kernel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.capture import capture_question
from grader.checks.base import PlanContext, ScoreContext
from grader.checks.domains import Domain, DomainError, check_inputs, describe, domain_problems
from grader.data import load_data
from grader.expected import Reference
from grader.results import SectionRecord
from grader.rubric import load_rubric
from grader.score import score_question, score_totals
from reference import hw2, lab9

REPO = Path(__file__).resolve().parents[1]
PIXELS = Domain(dtype="float64", shape=[[600, None], 784], min=0, max=1)


def test_an_input_inside_its_domain_has_no_problem() -> None:
    assert domain_problems("Xs", np.full((600, 784), 0.5), PIXELS) == []


@pytest.mark.parametrize(("value", "said"), [
    (np.full((90, 784), 0.5), "shape (90, 784), the assignment gives (600.., 784)"),
    (np.full((600, 784), 0.5, dtype=np.float32), "dtype float32, the assignment gives float64"),
    (np.full((600, 784), 255.0), "values in [255, 255], the assignment's are in [0, 1]"),
])
def test_an_input_outside_its_domain_is_named(value: np.ndarray, said: str) -> None:
    assert said in " ".join(domain_problems("Xs", value, PIXELS))


def test_an_input_passed_without_a_stated_domain_is_refused() -> None:
    with pytest.raises(DomainError, match="no domain is stated for Zs"):
        check_inputs({"Xs": PIXELS.model_dump()}, {"Zs": np.zeros(3)}, ["Zs"], "f")


def test_the_description_says_dtype_shape_and_range() -> None:
    assert describe("Xs", np.array([[0.0, 1.0]])) == "Xs float64 (1, 2) in [0, 1]"


@pytest.fixture(scope="module")
def digits():
    return load_data(None, train_limit=300)


@pytest.mark.parametrize(("module", "rubric"), [(hw2, "hw2"), (lab9, "lab9")])
def test_every_grader_input_of_the_shipped_rubrics_is_inside_its_stated_domain(
        module, rubric: str, digits, tmp_path: Path) -> None:
    """Each check that calls student code plans without a DomainError, and every inputs
    function it uses states a domain."""
    loaded = load_rubric(REPO / "rubrics" / f"{rubric}.yaml")
    reference = Reference(rubric, digits, None)
    for q in loaded.questions:
        ctx = PlanContext(q.id, reference, digits, tmp_path)
        capture = capture_question(q, ctx, None, 2**20)
        assert capture.plan_errors == {}, (q.id, capture.plan_errors)
        for check in q.checks:
            fn = check.params.get("inputs") or (check.params.get("call") or {}).get("inputs")
            if fn:
                assert fn in module.DOMAINS, f"{rubric} {q.id}: {fn} states no domain"


def test_a_90_row_sgd_problem_is_the_graders_problem_not_the_students(digits,
                                                                      tmp_path: Path) -> None:
    rubric = load_rubric(REPO / "rubrics" / "hw2.yaml")
    question = rubric.question("2.2.2")
    sgd = next(c for c in question.checks if c.type == "function_metric")
    sgd.params = {**sgd.params, "inputs_args": [90]}  # the old problem's size
    reference = Reference("hw2", digits, None)
    capture = capture_question(question, PlanContext("2.2.2", reference, digits, tmp_path),
                               None, 2**20)
    record = SectionRecord("2.2.2", [], executed=True)
    result = score_question(question, capture, ScoreContext("2.2.2", reference, digits, record,
                                                           [], {}, {}))
    outcome = next(c for c in result.checks if c.name == sgd.name)
    assert outcome.grader_problem
    assert "Xs has shape (90, 784)" in outcome.message and "grader problem" in outcome.message
    # the question is the grader's problem: left out of the score and the maximum until fixed
    assert result.status == "grader_error" and result.points == 0
    assert score_totals([result]) == (0, 0)
