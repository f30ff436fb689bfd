"""Fast unit tests (no kernel): forbidden-name detection, heading location, rubric errors, the
validation of the kernel's probe answer, layer matching, and value_matches' candidate names."""

from __future__ import annotations

import json
import os
import pickle
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import build_notebook

from grader.capture import CaptureError, read_probe_answer
from grader.checks import registry
from grader.checks.base import OpResult, PlanContext, ScoreContext
from grader.checks.forbidden import find_forbidden
from grader.expected import Reference
from grader.notebook import heading_pattern, locate_sections
from grader.results import SectionRecord
from grader.rubric import QuestionSpec, load_rubric
from reference.lab9 import synthetic_data

FORBIDDEN = ["numpy.cov", "sklearn.neighbors"]


def found(source: str | dict[int, str]) -> list[tuple[int, int, str]]:
    sources = {0: textwrap.dedent(source)} if isinstance(source, str) else source
    return [(f.cell, f.line, f.name) for f in find_forbidden(sources, FORBIDDEN)]


# --------------------------------------------------------------------------------------------
# forbidden.find_forbidden
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "line", "name"), [
    ("import numpy as np\nC = np.cov(X.T)", 2, "numpy.cov"),
    ("import numpy\nC = numpy.cov(X.T)", 2, "numpy.cov"),
    ("from numpy import cov as c\nC = c(X.T)", 1, "numpy.cov"),
    ("import numpy as np\nf = getattr(np, 'cov')", 2, "numpy.cov"),
    ("C = __import__('numpy').cov(X.T)", 1, "numpy.cov"),
    ("import importlib\nm = importlib.import_module('sklearn.neighbors')", 2, "sklearn.neighbors"),
    ("from importlib import import_module\nm = import_module('sklearn.neighbors')", 2,
     "sklearn.neighbors"),
    ("from sklearn.neighbors import KNeighborsClassifier", 1, "sklearn.neighbors"),
    ("import sklearn.neighbors as skn", 1, "sklearn.neighbors"),
    ("import sklearn\nknn = sklearn.neighbors.KNeighborsClassifier(3)", 2, "sklearn.neighbors"),
    ("%matplotlib inline\nimport numpy as np\nnp.cov(X)", 3, "numpy.cov"),
])
def test_forbidden_use_is_found_wherever_it_hides(source: str, line: int, name: str) -> None:
    assert (0, line, name) in found(source)


def test_forbidden_alias_from_an_earlier_cell_is_found_in_a_later_one() -> None:
    sources = {0: "import numpy as np", 3: "x = 1", 7: "C = np.cov(x)"}
    assert found(sources) == [(7, 1, "numpy.cov")]


def test_forbidden_finding_quotes_the_offending_line() -> None:
    (finding,) = find_forbidden({2: "import numpy as np\n\nC = np.cov(X.T)  # covariance"},
                                ["numpy.cov"])
    assert (finding.cell, finding.line, finding.code) == (2, 3, "C = np.cov(X.T)  # covariance")


@pytest.mark.parametrize("source", [
    "cov = X.T @ X / (len(X) - 1)\nprint(cov)",                 # a variable named cov
    "import numpy as np\nC = np.covariance_of(X)",               # a longer name starting with cov
    "import numpy as np\nC = X.T @ X  # not np.cov(X.T)",        # a comment
    "import numpy as np\nprint('np.cov would be easier')",       # a string
    "import numpy as np\nC = np.corrcoef(X)",                    # another numpy function
    "from sklearn.decomposition import PCA",                     # another sklearn module
    "def cov(a):\n    return a.T @ a\nC = cov(X)",               # the student's own cov
    "this is not python (",                                      # a syntax error is skipped
])
def test_lookalikes_of_forbidden_names_are_not_flagged(source: str) -> None:
    assert found(source) == []


# --------------------------------------------------------------------------------------------
# notebook.heading_pattern / locate_sections
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "matches"), [
    ("Exercise 1.2 – Define a ConvNet", True),
    ("exercise 1.2: define", True),
    ("Exercise  1.2", True),
    ("Exercise 1.2. Define", True),
    ("Exercise 1.2.1 – a sub-question", False),
    ("Exercise 1.20", False),
    ("Exercise 1.3", False),
])
def test_heading_pattern_matches_the_exercise_not_its_subexercises(text: str,
                                                                    matches: bool) -> None:
    assert bool(heading_pattern("Exercise 1.2").match(text)) is matches


def _question(qid: str) -> QuestionSpec:
    return QuestionSpec(id=qid, title=qid, heading=f"Exercise {qid}", points=0)


def test_heading_1_2_is_not_confused_with_1_2_1_or_prose_mentioning_it() -> None:
    nb = build_notebook([
        ("md", "# Lab"),
        ("md", "Exercise 1.1–1.4 ask you to generate a synthetic data set."),  # 1
        ("md", "## Exercise 1.1 – Build a data set"),                           # 2
        ("code", "X = 1"),
        ("md", "### Exercise 1.2.1 – a warm-up"),                               # 4
        ("code", "pass"),
        ("md", "Stuck? Try going back to Exercise 1.2 and increase the filters."),  # 6
        ("md", "## **Exercise 1.2** – Define a ConvNet"),                       # 7
        ("code", "model = 1"),
    ])
    s11, s12 = locate_sections(nb, [_question("1.1"), _question("1.2")])
    assert (s11.heading_cell, s11.start, s11.end) == (2, 2, 7)
    assert (s12.heading_cell, s12.start, s12.end, s12.found) == (7, 7, 9, True)


def test_prose_mentioning_a_missing_heading_does_not_stand_in_for_it() -> None:
    nb = build_notebook([
        ("md", "## Exercise 1.1"),
        ("code", "X = 1"),
        ("md", "The loss stalls: try going back to Exercise 1.2 and increase the filters."),
        ("code", "model = 1"),
        ("md", "## Exercise 1.3"),
        ("code", "train()"),
    ])
    _, s12, s13 = locate_sections(nb, [_question("1.1"), _question("1.2"), _question("1.3")])
    assert not s12.found
    assert (s12.start, s12.end) == (4, 4)  # captured where 1.3 starts
    assert "Exercise 1.2" in s12.note and "before 'Exercise 1.3'" in s12.note
    assert s13.found and s13.heading_cell == 4


def test_plain_text_heading_without_hashes_is_found_on_a_cells_first_line() -> None:
    nb = build_notebook([
        ("md", "Exercise 2.1 Load and preprocess MNIST\n\nImplement the function below."),
        ("code", "pass"),
    ])
    (s21,) = locate_sections(nb, [_question("2.1")])
    assert s21.found and (s21.heading_cell, s21.end) == (0, 2)


def test_missing_last_heading_is_graded_at_the_end_of_the_notebook() -> None:
    nb = build_notebook([("md", "## Exercise 1.1"), ("code", "X = 1")])
    _, s12 = locate_sections(nb, [_question("1.1"), _question("1.2")])
    assert not s12.found and (s12.start, s12.end) == (2, 2)
    assert "at the end of the notebook" in s12.note


# --------------------------------------------------------------------------------------------
# capture.read_probe_answer
# --------------------------------------------------------------------------------------------

ANSWER = {"0:0": {"ok": True, "value": {"__array__": "a0"}, "nested": [{"__array__": "a1"}]}}


def write_answer(tmp_path: Path, tree: object = ANSWER, **arrays: np.ndarray) -> tuple[Path, Path]:
    json_path, npz_path = tmp_path / "probe1.json", tmp_path / "probe1.npz"
    json_path.write_text(json.dumps(tree))
    np.savez(npz_path, **(arrays or {"a0": np.arange(3.0), "a1": np.eye(2, dtype=np.int64)}))
    return json_path, npz_path


def test_numeric_answer_is_read_with_arrays_in_place(tmp_path: Path) -> None:
    answer = read_probe_answer(*write_answer(tmp_path), max_bytes=2**20)
    np.testing.assert_array_equal(answer["0:0"]["value"], [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(answer["0:0"]["nested"][0], np.eye(2))


def test_object_array_answer_is_rejected(tmp_path: Path) -> None:
    paths = write_answer(tmp_path, a0=np.array([{"x": 1}, None], dtype=object))
    with pytest.raises(CaptureError, match="unreadable"):
        read_probe_answer(*paths, max_bytes=2**20)


class _Payload:
    def __reduce__(self) -> tuple:
        return (os.mkdir, (str(Path(os.environ["PROBE_MARKER"])),))


def test_pickle_posing_as_the_array_file_is_rejected_unopened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "unpickled"
    monkeypatch.setenv("PROBE_MARKER", str(marker))
    json_path, npz_path = write_answer(tmp_path)
    npz_path.write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(CaptureError, match="unreadable"):
        read_probe_answer(json_path, npz_path, max_bytes=2**20)
    assert not marker.exists()


def test_text_array_answer_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="non-numeric array"):
        read_probe_answer(*write_answer(tmp_path, a0=np.array(["0.9"]), a1=np.eye(2)),
                          max_bytes=2**20)


def test_oversized_answer_is_rejected_before_reading(tmp_path: Path) -> None:
    paths = write_answer(tmp_path, a0=np.zeros(2**18), a1=np.eye(2))  # 2 MB of float64
    assert read_probe_answer(*paths, max_bytes=2**21)["0:0"]["value"].shape == (2**18,)
    with pytest.raises(CaptureError, match="capture limit"):
        read_probe_answer(*paths, max_bytes=2**19)


@pytest.mark.parametrize("which", [0, 1])
def test_symlinked_answer_file_is_rejected(tmp_path: Path, which: int) -> None:
    paths = list(write_answer(tmp_path))
    real = paths[which].rename(tmp_path / f"elsewhere{paths[which].suffix}")
    paths[which].symlink_to(real)
    with pytest.raises(CaptureError, match="symbolic link|not a regular file"):
        read_probe_answer(*paths, max_bytes=2**20)


def test_fifo_in_place_of_an_answer_file_is_rejected_without_blocking(tmp_path: Path) -> None:
    json_path, npz_path = write_answer(tmp_path)
    npz_path.unlink()
    os.mkfifo(npz_path)  # a reader that waits for a writer would hang the grader
    with pytest.raises(CaptureError, match="not a regular file"):
        read_probe_answer(json_path, npz_path, max_bytes=2**20)


@pytest.mark.parametrize(("text", "problem"), [
    ("{not json", "not valid JSON"),
    ('["a", "list"]', "not a mapping"),
    ('{"0:0": {"__array__": "a9"}}', "missing array"),
])
def test_malformed_json_answer_is_rejected(tmp_path: Path, text: str, problem: str) -> None:
    json_path, npz_path = write_answer(tmp_path)
    json_path.write_text(text)
    with pytest.raises(CaptureError, match=problem):
        read_probe_answer(json_path, npz_path, max_bytes=2**20)


# --------------------------------------------------------------------------------------------
# arrays.value_matches: candidate names and what the sentence says about them
# --------------------------------------------------------------------------------------------


def score_value_matches(artifact: str | list[str], assigned: list[str],
                        answers: dict[str, np.ndarray | None]) -> str:
    """Plan value_matches on lab9's X for a section that assigned `assigned`, answer each probe
    from `answers` (None: the name is not defined), and return the verdict's sentence."""
    check = registry["value_matches"]
    p = check.Params.model_validate({"artifact": artifact,
                                     "expected": [{"fn": "synthetic_data", "index": 0}],
                                     "atol": 0, "rtol": 0})
    reference = Reference("lab9", None, None)  # synthetic_data needs no data bundle
    state: dict = {}
    ops = check.plan(p, PlanContext("1.1", reference, None, Path("."), assigned), state)
    results = []
    for op in ops:
        value = answers.get(op.name)
        results.append(OpResult(False, {}, {"ename": "LookupError",
                                            "evalue": f"name '{op.name}' is not defined"})
                       if value is None else
                       OpResult(True, {"kind": "array", "type": "ndarray", "value": value}))
    ctx = ScoreContext("1.1", reference, None, SectionRecord("1.1", []), [], {}, state)
    verdict = check.score(p, ctx, results)
    return ("PASS " if verdict.passed else "FAIL ") + verdict.message


def test_value_under_another_name_assigned_in_the_section_is_found() -> None:
    X = synthetic_data()[0]
    said = score_value_matches(["X", "*section"], ["X_synthetic", "N"],
                               {"X_synthetic": X, "N": np.array(75)})
    assert said.startswith("PASS 'X_synthetic' (75, 1, 20) matches")


def test_wrong_value_under_the_wanted_name_fails_with_the_difference() -> None:
    X = synthetic_data()[0].copy()
    X[3, 0, :] = 0.5
    said = score_value_matches("X", [], {"X": X})
    assert said.startswith("FAIL 'X' does not match the reference") and "values differ" in said


def test_missing_value_is_not_said_to_be_assigned_in_the_section() -> None:
    said = score_value_matches("X", ["W", "N"], {})
    assert said.startswith("FAIL no 'X' found at the end of the section"), said
    assert "assigned there: X" not in said, said


# --------------------------------------------------------------------------------------------
# notebook.locate_sections: headings written without their numbers
# --------------------------------------------------------------------------------------------


def test_heading_without_its_number_is_found_by_the_questions_title() -> None:
    rubric = load_rubric(Path(__file__).resolve().parents[1] / "rubrics" / "hw2.yaml")
    nb = build_notebook([("md", "### Familiarize yourself with the data [5pt]"),
                         ("code", "digit_images = 0"),
                         ("md", "Now centering the data, as asked:"),  # prose, not a heading
                         ("md", "### Question 1.2.1 Centering the data [5pt]"),
                         ("code", "data_mean = 0")])
    found = {s.question_id: s for s in locate_sections(nb, rubric.questions[:3])}
    assert (found["1.1"].found, found["1.1"].heading_cell) == (True, 0)
    assert (found["1.2.1"].found, found["1.2.1"].heading_cell) == (True, 3)
    assert not found["1.2.2"].found
