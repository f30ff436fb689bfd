"""The blank handouts (rubrics/handouts/, built from submissions/src/starter/) and what
grader/handout.py tells from them: unchanged given cells, unchanged starter code, sections not
attempted, and errors that are expected with the grading data. Fast: no kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.handout import Handout, HandoutError, handout_for, mark_expected_errors
from grader.report import render_html
from grader.results import CellError, GradeResult, QuestionResult, SectionRecord
from grader.rubric import load_rubric
from submissions import examples

REPO = Path(__file__).resolve().parents[1]
CHECK_21 = examples.given("lab9", "check_21")
TRACEBACK_LINE_3 = ("AssertionError                            Traceback (most recent call last)\n"
                    "Cell In[17], line 3\n      1 assert isinstance(X_trn, torch.FloatTensor)\n"
                    "----> 3 assert X_trn.shape == (60000, 1, 28, 28)\n")


@pytest.fixture(scope="module")
def lab9() -> Handout:
    rubric = load_rubric(REPO / "rubrics" / "lab9.yaml")
    handout = handout_for(rubric.handout, rubric.folder, rubric.source_path)
    assert handout is not None
    return handout


def error(source: str, traceback: str) -> CellError:
    return CellError(7, "AssertionError", "X_trn has wrong shape", traceback, source)


def test_unchanged_given_cell_is_recognised_whatever_its_whitespace(lab9: Handout) -> None:
    assert lab9.is_given(CHECK_21)
    assert lab9.is_given(CHECK_21.replace("\n", "\n\n").replace(" == ", "=="))
    assert not lab9.is_given(CHECK_21.replace("60000", "7000"))


def test_starter_code_left_alone_is_not_attempted(lab9: Handout) -> None:
    starter = examples.starter_answers("lab9")["ex22_model"]
    assert lab9.is_starter(starter) and not lab9.is_given(starter)
    assert lab9.not_attempted([starter, "", CHECK_21])
    answer = examples.answers("lab9", "alice")["ex22_model"]
    assert not lab9.not_attempted([answer, CHECK_21])


def test_the_60000_assert_of_the_unchanged_check_cell_is_expected(lab9: Handout) -> None:
    why = lab9.expected_error(error(CHECK_21, TRACEBACK_LINE_3))
    assert why.startswith("expected with the grading data: line 3") and "60000" in why


def test_the_float32_assert_of_the_same_cell_is_the_students_error(lab9: Handout) -> None:
    line_1 = TRACEBACK_LINE_3.replace("line 3", "line 1")
    assert lab9.expected_error(error(CHECK_21, line_1)) == ""


def test_an_edited_check_cell_raising_is_the_students_error(lab9: Handout) -> None:
    edited = CHECK_21 + "\nprint('done')"
    assert lab9.expected_error(error(edited, TRACEBACK_LINE_3)) == ""


def test_expected_errors_are_marked_and_shown_apart_in_the_report(lab9: Handout) -> None:
    record = SectionRecord("2.1", [7], errors=[error(CHECK_21, TRACEBACK_LINE_3)], executed=True)
    marked = mark_expected_errors(record, lab9)
    assert marked.errors[0].expected and marked.student_errors == []
    assert record.errors[0].expected == ""  # the original record is left alone
    question = QuestionResult("2.1", "Load", "pass", 15.0, 15.0, [], section=marked)
    result = GradeResult("lab9", "s", "s.ipynb", "", 15.0, 15.0, 0.0, [question],
                         {"grader_version": "0", "rubric_sha256": "0" * 64,
                          "packages": {"torch": "x"}, "sandbox": "none"},
                         {"description": "digits", "fingerprint": "f"}, 1.0)
    html = render_html(result)
    assert 'class="expected-box"' in html and "expected with the grading data" in html
    assert 'class="error-box"' not in html
    assert result.to_json_dict()["questions"][0]["errors"][0]["expected"].startswith("expected")


def test_a_missing_handout_is_named_with_its_rubric(tmp_path: Path) -> None:
    with pytest.raises(HandoutError, match=r"rubric\.yaml: handout: cannot read"):
        handout_for("handouts/none.ipynb", str(tmp_path), str(tmp_path / "rubric.yaml"))


def test_hw2_handout_knows_its_starter_classes() -> None:
    rubric = load_rubric(REPO / "rubrics" / "hw2.yaml")
    hw2 = handout_for(rubric.handout, rubric.folder, rubric.source_path)
    assert hw2 is not None
    assert hw2.is_starter(examples.starter_answers("hw2")["q21"])
    assert not hw2.is_starter(examples.answers("hw2", "erin")["q21"])
