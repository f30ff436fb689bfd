"""Typical mistakes an instructor makes in a rubric, each refused with its precise message.

Every test starts from a correct rubric (the ridge course folder, tests/fixtures/ridge, copied; or
Lab 9's for accuracy thresholds), makes one mistake, and asserts the message at the mistake's
file:line:column. Nothing here starts a kernel: schema and semantics need none, and a solution with a
missing heading or artifact is refused before it would be graded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from answers import H11, H12, H13, H14, H21, H22
from conftest import RUBRICS, write_notebook
from courses import RIDGE_TEXT, copy_ridge, edited

from grader.assignment import AssignmentError, checked_rubric, detect_rubric
from grader.batch.discover import BatchInputError
from grader.batch.run import run_batch
from grader.options import GradeOptions, ValidateOptions
from grader.rubric import parse_rubric
from grader.solution import validate_course

LAB9_TEXT = (RUBRICS / "lab9.yaml").read_text(encoding="utf-8")


@pytest.fixture
def rubric(tmp_path: Path) -> Path:
    """The ridge rubric's path in a fresh copy of its course folder."""
    return copy_ridge(tmp_path / "ridge")


def refusal(rubric: Path, text: str) -> str:
    """The message with which loading the rubric `text` (written at `rubric`) is refused."""
    rubric.write_text(text, encoding="utf-8")
    with pytest.raises(AssignmentError) as info:
        checked_rubric(text, rubric)
    return str(info.value)


def solution_problems(rubric: Path, text: str) -> str:
    """What `grade validate` says against the course's solution.ipynb (refused before grading)."""
    rubric.write_text(text, encoding="utf-8")
    result = validate_course(rubric, ValidateOptions((rubric,), confine=False,
                                                     reference_cache=None))
    assert not result.ok
    return "\n".join(result.problems)


def test_the_shipped_rubrics_and_the_ridge_course_load_without_a_problem(rubric: Path) -> None:
    for path in (RUBRICS / "lab9.yaml", RUBRICS / "hw2.yaml", rubric):
        loaded, report = checked_rubric(path.read_text(encoding="utf-8"), path)
        assert report.problems == [] and loaded.questions


def test_valid_rubric_records_its_hash_its_path_and_its_folder(rubric: Path) -> None:
    loaded = parse_rubric(RIDGE_TEXT, rubric)
    assert len(loaded.sha256) == 64 and loaded.source_path == str(rubric)
    assert loaded.folder == str(rubric.parent.resolve()) and loaded.max_score == 20


# -- schema ----------------------------------------------------------------------------------

def test_misspelled_check_type_is_refused_at_its_line_with_the_closest_type(rubric: Path) -> None:
    text = edited(RIDGE_TEXT, "type: value_matches\n        name: column means",
                  "type: value_match\n        name: column means")
    assert (f"{rubric}:27:9: question 1, check 1 'column means' (value_match): unknown check type "
            "'value_match' (did you mean 'value_matches'?); check types: artifact_shape, "
            ) in refusal(rubric, text)


def test_misspelled_parameter_gets_the_closest_name_and_the_allowed_ones(rubric: Path) -> None:
    text = edited(RIDGE_TEXT, "key: Z}]\n", "key: Z}]\n        atoll: 0\n")
    assert (f"{rubric}:42:9: question 1, check 3 'standardised training matrix' (value_matches): "
            "unknown parameter 'atoll' (did you mean 'atol'?); value_matches takes: type, points, "
            "name, requires, visibility, hint, artifact, expected, atol, rtol") in refusal(rubric, text)


def test_misspelled_parameter_inside_expected_is_refused_at_its_column(rubric: Path) -> None:
    text = edited(RIDGE_TEXT, "{fn: standardisation, key: mu}", "{fn: standardisation, kye: mu}")
    assert (f"{rubric}:31:42: question 1, check 1 'column means' (value_matches): expected[0]: "
            "unknown parameter 'kye' (did you mean 'key'?); allowed: fn, args, inputs, index, key"
            ) in refusal(rubric, text)


def test_accuracy_threshold_written_as_a_percentage_is_refused(rubric: Path) -> None:
    text = edited(LAB9_TEXT, "threshold: 0.97", "threshold: 97")
    assert (f"{rubric}:185:9: question 2.2, check 3 'accuracy on held-out digits' "
            "(heldout_accuracy): threshold: 97 is out of range: should be less than or equal to 1 "
            "(a fraction: did you mean 0.97?)") in refusal(rubric, text)


def test_calibration_margin_of_3_is_refused(rubric: Path) -> None:
    text = edited(LAB9_TEXT, "margin: 0.03}", "margin: 3}")
    assert (f"{rubric}:186:62: question 2.2, check 3 'accuracy on held-out digits' "
            "(heldout_accuracy): calibrate.margin: 3 is out of range: should be less than 1"
            ) in refusal(rubric, text)


def test_yaml_syntax_error_is_refused_at_its_line_and_column(rubric: Path) -> None:
    assert (f"{rubric}:80:19: not valid YAML: expected ',' or ']', but got ':'"
            in refusal(rubric, edited(RIDGE_TEXT, "shape: [13]", "shape: [13")))


def test_a_key_written_twice_is_refused_at_the_second(rubric: Path) -> None:
    text = edited(RIDGE_TEXT, "points: 1\n        artifact: mu",
                  "points: 1\n        points: 2\n        artifact: mu")
    assert (f"{rubric}:30:9: 'points' is written twice in this mapping (first at line 29); YAML "
            "would keep only this one") in refusal(rubric, text)


def test_misspelled_question_field_is_refused_with_what_is_missing(rubric: Path) -> None:
    message = refusal(rubric, edited(RIDGE_TEXT, 'heading: "Exercise 2"', 'haeding: "Exercise 2"'))
    assert f"{rubric}:43:5: question 2: 'heading' is required" in message
    assert (f"{rubric}:45:5: question 2: unknown field 'haeding' (did you mean 'heading'?); "
            "allowed: id, title, heading, points, checks, manual") in message


def test_misspelled_data_layout_is_refused_with_the_closest_layout(rubric: Path) -> None:
    text = edited(RIDGE_TEXT, "files: [data]", "layouts: [nzp]\n  files: [data]")
    assert (f"{rubric}:12:13: data.layouts[0]: 'nzp' is not allowed (did you mean 'npz'?)"
            in refusal(rubric, text))


def test_unquoted_question_id_1_10_stays_1_10(rubric: Path) -> None:
    loaded = parse_rubric(edited(RIDGE_TEXT, 'id: "3"', "id: 1.10"), rubric)
    assert [q.id for q in loaded.questions] == ["1", "2", "1.10"]


# -- semantics -------------------------------------------------------------------------------

def test_points_that_do_not_add_up_are_refused_at_the_questions_points(rubric: Path) -> None:
    assert (f"{rubric}:25:5: question 1: points is 6 but its checks add up to 5 (1 + 1 + 3)"
            in refusal(rubric, edited(RIDGE_TEXT, "points: 5\n", "points: 6\n")))


def test_duplicate_question_id_is_refused_at_the_duplicate(rubric: Path) -> None:
    assert (f"{rubric}:70:5: question id 2 appears twice (first at line 43)"
            in refusal(rubric, edited(RIDGE_TEXT, 'id: "3"', 'id: "2"')))


def test_two_checks_with_one_name_are_refused_at_the_second(rubric: Path) -> None:
    text = edited(RIDGE_TEXT, "name: population standard deviations", "name: column means")
    assert (f"{rubric}:33:9: question 1: two checks are named 'column means' (checks 1 and 2)"
            in refusal(rubric, text))


def test_requires_naming_an_unknown_check_gets_the_closest_name(rubric: Path) -> None:
    text = edited(RIDGE_TEXT, "requires: [validation errors]", "requires: [validation error]")
    assert (f"{rubric}:90:20: question 3, check 3 'best lambda in a sensible range' "
            "(scalar_range): requires 'validation error': no such check (did you mean "
            "'validation errors'?); earlier checks: 'one validation error per lambda', "
            "'validation errors'") in refusal(rubric, text)


def test_requires_naming_a_later_check_is_refused(rubric: Path) -> None:
    text = edited(RIDGE_TEXT, "dtype_kind: f\n", "dtype_kind: f\n        requires: [validation "
                                                 "errors]\n")
    assert (f"{rubric}:81:20: question 3, check 1 'one validation error per lambda' "
            "(artifact_shape): requires 'validation errors': it is check 2, after this one: "
            "checks are scored in order, so list it first") in refusal(rubric, text)


def test_reference_function_typo_is_refused_with_the_closest_function(rubric: Path) -> None:
    text = edited(RIDGE_TEXT, "fn: standardisation, key: sigma", "fn: standardisaton, key: sigma")
    assert (f"{rubric}:36:21: question 1, check 2 'population standard deviations' "
            "(value_matches): expected[0].fn: reference function 'standardisaton' is not in "
            f"{rubric.parent / 'reference.py'} (did you mean 'standardisation'?)"
            ) in refusal(rubric, text)


def test_reference_function_given_the_wrong_inputs_is_refused(rubric: Path) -> None:
    text = edited(RIDGE_TEXT, "inputs: [Z_train, y_train]}]\n      - type: function_metric",
                  "inputs: [Z_train]}]\n      - type: function_metric")
    message = refusal(rubric, text)
    assert (f"{rubric}:59:21: question 2, check 2 'w with lambda = 1 on the centred targets' "
            "(value_matches): expected[0].fn: reference function ridge_weights(") in message
    assert ("cannot be called with 0 positional arguments and Z_train=: missing a required "
            "argument: 'y_train'") in message


def test_reference_function_given_too_many_arguments_is_refused(rubric: Path) -> None:
    text = edited(RIDGE_TEXT, "{fn: standardisation, key: mu}",
                  "{fn: standardisation, args: [3], key: mu}")
    assert ("reference function standardisation(data: 'Any') -> 'dict[str, np.ndarray]' cannot "
            "be called with 1 positional argument: multiple values for argument 'data'"
            ) in refusal(rubric, text)


def test_misspelled_reference_module_gets_the_closest_file(rubric: Path) -> None:
    text = edited(RIDGE_TEXT, "reference: reference.py", "reference: referense.py")
    assert (f"{rubric}:10:1: reference: {rubric.parent / 'referense.py'}: cannot read the "
            "reference module: No such file or directory (did you mean 'reference.py'?)"
            ) in refusal(rubric, text)


def test_calibration_margin_not_below_the_threshold_is_refused(rubric: Path) -> None:
    text = edited(edited(LAB9_TEXT, "threshold: 0.97", "threshold: 0.5"), "margin: 0.03}",
                  "margin: 0.6}")
    message = refusal(rubric, text)
    assert (f"{rubric}:186:62: question 2.2, check 3 'accuracy on held-out digits' "
            "(heldout_accuracy): margin 0.6 is not below the threshold 0.5: after calibration "
            "every answer would pass") in message
    assert f"{rubric}:188:14: " in message and "tier min 0.9 is not below the threshold 0.5" \
        in message


def test_partial_credit_tier_above_the_threshold_is_refused(rubric: Path) -> None:
    text = edited(LAB9_TEXT, "{min: 0.90, fraction: 0.5}", "{min: 0.98, fraction: 0.5}")
    assert (f"{rubric}:188:14: question 2.2, check 3 'accuracy on held-out digits' "
            "(heldout_accuracy): tier min 0.98 is not below the threshold 0.97"
            ) in refusal(rubric, text)


def test_data_folder_that_does_not_exist_is_refused_with_the_closest_name(rubric: Path) -> None:
    message = refusal(rubric, edited(RIDGE_TEXT, "files: [data]", "files: [dat]"))
    assert (f"{rubric}:12:11: data: files: 'dat' does not exist (relative to the rubric's folder "
            f"{rubric.parent}) (did you mean 'data'?)") in message


def test_data_writer_that_the_reference_lacks_is_refused(rubric: Path) -> None:
    text = edited(RIDGE_TEXT, "files: [data]", "files: [data]\n  writer: write_data")
    assert (f"{rubric}:13:3: data: writer: reference function 'write_data' is not in "
            f"{rubric.parent / 'reference.py'}") in refusal(rubric, text)


# -- against the solution --------------------------------------------------------------------

def test_heading_the_solution_does_not_contain_is_refused(rubric: Path) -> None:
    text = edited(RIDGE_TEXT, 'heading: "Exercise 3"', 'heading: "Exercise 4"')
    assert (f"{rubric}:72:5: question 3: heading 'Exercise 4' is not in the solution "
            f"{rubric.parent / 'solution.ipynb'} (its headings: 'Ridge regression'; 'Exercise 1"
            ) in solution_problems(rubric, text)


def test_artifact_the_solution_never_assigns_is_refused(rubric: Path) -> None:
    assert (f"{rubric}:30:9: question 1, check 1 'column means' (value_matches): 'Xtrain' is "
            "never bound in the solution (did you mean 'X_train'?) (names bound in its section: "
            "X_train, Z_train, mu, np, sigma, table, y_train)"
            ) in solution_problems(rubric, edited(RIDGE_TEXT, "artifact: mu", "artifact: Xtrain"))


def test_artifact_assigned_only_in_a_later_section_is_refused(rubric: Path) -> None:
    assert (f"{rubric}:35:9: question 1, check 2 'population standard deviations' "
            "(value_matches): 'w' is bound only in question 2's section, after this one ends"
            ) in solution_problems(rubric, edited(RIDGE_TEXT, "artifact: sigma", "artifact: w"))


# -- where rubrics are used ------------------------------------------------------------------

def test_grading_with_an_invalid_rubric_is_refused_before_anyone_is_graded(
        rubric: Path, tmp_path: Path) -> None:
    rubric.write_text(edited(RIDGE_TEXT, "points: 5\n", "points: 6\n"), encoding="utf-8")
    out = tmp_path / "grades"
    with pytest.raises(BatchInputError, match=r"rubric.yaml:25:5: question 1: points is 6"):
        run_batch(GradeOptions(paths=(rubric.parent / "solution.ipynb",), rubric_path=rubric,
                               out_dir=out, confine=False))
    assert not out.exists()


def lab9_headings_notebook(tmp_path: Path) -> Path:
    return write_notebook(tmp_path, [H11, H12, H13, H14, H21, H22], "student")


def test_broken_draft_rubric_is_skipped_by_detection_with_a_note(tmp_path: Path) -> None:
    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    (rubrics / "lab9.yaml").write_text(LAB9_TEXT, encoding="utf-8")
    # a draft copy with every Lab 9 heading (it ties with lab9.yaml and sorts first) and a typo
    (rubrics / "draft.yaml").write_text(edited(LAB9_TEXT, "fn: synthetic_rule_violations",
                                               "fn: synthetic_rule_violation"), encoding="utf-8")
    (rubrics / "scratch.yaml").write_text("questions: [", encoding="utf-8")
    chosen = detect_rubric([lab9_headings_notebook(tmp_path)], rubrics)
    assert chosen.path == rubrics / "lab9.yaml"
    assert chosen.reason == "lab9: 6 of 6 headings found in student.ipynb"
    draft, scratch = sorted(chosen.skipped)
    assert draft.startswith(
        f"skipped draft.yaml, which does not load: {rubrics / 'draft.yaml'}:47:9: question 1.1, "
        "check 3 'shape and labelling rule' (predicate): fn: reference function "
        "'synthetic_rule_violation' is not in reference/lab9.py (did you mean "
        "'synthetic_rule_violations'?)")
    assert scratch.startswith("skipped scratch.yaml, which does not load: "
                                        f"{rubrics / 'scratch.yaml'}:1:")


def test_detection_with_only_broken_rubrics_says_why_each_was_skipped(tmp_path: Path) -> None:
    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    (rubrics / "draft.yaml").write_text(edited(LAB9_TEXT, "points: 35", "points: 36"),
                                        encoding="utf-8")
    with pytest.raises(AssignmentError) as info:
        detect_rubric([lab9_headings_notebook(tmp_path)], rubrics)
    assert "none of the rubrics" in str(info.value)
    assert "skipped draft.yaml, which does not load: " in str(info.value)
    assert "question 2.2: points is 36 but its checks add up to 35" in str(info.value)


def test_validate_reports_every_problem_past_the_schema_in_one_pass(rubric: Path) -> None:
    text = edited(edited(RIDGE_TEXT, "points: 5\n", "points: 6\n"), "artifact: mu",
                  "artifact: Xtrain")
    problems = solution_problems(rubric, text).splitlines()
    assert [p.split(": ")[0].removeprefix(f"{rubric}:") for p in problems] == ["25:5", "30:9"]
