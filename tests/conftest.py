"""Shared test helpers: small data, rubrics, notebooks built in code, and one-call grading.

Notebooks are built from `(kind, source)` pairs, kind "md" (or "markdown") or "code"; sources are
dedented, so tests can write them as indented triple-quoted strings. `grade(...)` runs the real
pipeline (a kernel per notebook) with a session-wide cache directory, so slow reference results
(threshold calibration) are computed once per test session. GRADER_TEST_CONFINE=1 runs student
code in the sandbox (needs bubblewrap); the default is unconfined.

The example notebooks in submissions/ are graded once per session, by `graded_example(name)`,
confined unless GRADER_TEST_CONFINE=0 (as the README grades them, and as the golden verdicts in
tests/golden/ were recorded).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.data import DataBundle, load_data
from grader.results import GradeResult, QuestionResult
from grader.rubric import Rubric, load_rubric
from submissions import examples

REPO = Path(__file__).resolve().parents[1]
RUBRICS = REPO / "rubrics"

Cells = list[tuple[str, str]]


# The modules that take longest, longest first. Under pytest-xdist (`-n 2 --dist loadfile`, set in
# pyproject.toml) each module runs on one worker, in collection order: started first, they leave
# neither worker a long tail. Other modules keep their order after these.
LONGEST_FIRST = ("test_fidelity_hw2.py", "test_fidelity.py", "test_soak.py", "test_hostile.py", "test_lifetime.py",
                 "test_submissions_grade.py", "test_hw2_grading.py", "test_lab9_grading.py",
                 "test_batch.py", "test_rootless.py", "test_course_folder.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order kept within


# The data each assignment's example notebooks are graded on (and the golden verdicts recorded on).
EXAMPLE_DATA: dict[str, dict] = {"lab9": {"train_limit": 400}, "hw2": {}}


def confine_from_env() -> bool:
    """GRADER_TEST_CONFINE=1 runs notebooks in the sandbox (needs bubblewrap); default: unconfined."""
    return os.environ.get("GRADER_TEST_CONFINE", "0").strip().lower() in ("1", "true", "yes")


def confine_examples_from_env() -> bool:
    """The example notebooks are graded confined unless GRADER_TEST_CONFINE=0."""
    return os.environ.get("GRADER_TEST_CONFINE", "1").strip().lower() in ("1", "true", "yes")


def build_notebook(cells: Cells) -> nbformat.NotebookNode:
    """A valid v4 notebook (python3 kernel) from ("md" | "markdown" | "code", source) pairs."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    for kind, source in cells:
        if kind not in ("md", "markdown", "code"):
            raise ValueError(f"cell kind must be 'md' or 'code', not {kind!r}")
        text = textwrap.dedent(source).strip("\n")
        nb.cells.append(new_code_cell(text) if kind == "code" else new_markdown_cell(text))
    nbformat.validate(nb)
    return nb


def write_notebook(directory: Path, cells: Cells | nbformat.NotebookNode,
                   name: str = "student") -> Path:
    """Write the notebook as `<directory>/<name>.ipynb` (the grader calls the student `name`)."""
    nb = cells if isinstance(cells, nbformat.NotebookNode) else build_notebook(cells)
    path = Path(directory) / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def rubric_with(rubric: Rubric, ids: Iterable[str]) -> Rubric:
    """The rubric with only the questions `ids` (in the rubric's order): tests run what they need.

    A notebook graded with it still needs the headings of the questions kept; the other questions'
    headings are then just markdown.
    """
    wanted = list(ids)
    unknown = [i for i in wanted if i not in {q.id for q in rubric.questions}]
    if unknown:
        raise KeyError(f"rubric {rubric.assignment} has no question(s) {unknown}")
    return rubric.model_copy(update={"questions": [q for q in rubric.questions
                                                   if q.id in wanted]})


def question(result: GradeResult, qid: str) -> QuestionResult:
    """The result of question `qid`."""
    for q in result.questions:
        if q.id == qid:
            return q
    raise KeyError(f"no question {qid} in the result (has {[q.id for q in result.questions]})")


def check_outcome(result: GradeResult, qid: str, name: str):
    """The outcome of the check called `name` in question `qid`."""
    q = question(result, qid)
    for c in q.checks:
        if c.name == name:
            return c
    raise KeyError(f"question {qid} has no check '{name}' (has {[c.name for c in q.checks]})")


def verdicts(result: GradeResult) -> str:
    """Every question's status, points and check sentences: an assertion message worth reading."""
    lines = []
    for q in result.questions:
        lines.append(f"{q.id} {q.status} {q.points:g}/{q.max_points:g}")
        lines += [f"    {'ok  ' if c.passed else 'FAIL'} {c.points:g}/{c.max_points:g} {c.name}: "
                  f"{c.message}" for c in q.checks]
        if q.section is not None:
            lines += [f"    raised {e.ename}: {e.evalue[:200]}" for e in q.section.errors]
    if result.fatal:
        lines.append(f"fatal: {result.fatal}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def small_data() -> DataBundle:
    """The offline digits profile cut to 300 training images: 2.2-style training takes a second."""
    return load_data(None, train_limit=300)


@pytest.fixture(scope="session")
def lab9_rubric() -> Rubric:
    return load_rubric(RUBRICS / "lab9.yaml")


@pytest.fixture(scope="session")
def grade_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One reference-result cache for the session (calibration training runs once), shared by
    pytest-xdist's workers: results are written atomically, so two writers never corrupt one."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' basetemps are popen-gw0, popen-gw1, ... of one root
    path = root / "grader-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def grade(grade_cache_dir: Path) -> Callable[..., GradeResult]:
    """`grade(path, rubric, data, **GradeConfig fields)` -> GradeResult, via the real pipeline."""
    from grader.pipeline import GradeConfig, grade_notebook

    def run(path: Path, rubric: Rubric, data: DataBundle, **kw) -> GradeResult:
        kw.setdefault("confine", confine_from_env())
        kw.setdefault("cache_dir", grade_cache_dir)
        return grade_notebook(Path(path), GradeConfig(rubric=rubric, data=data, **kw))

    return run


@pytest.fixture
def make_notebook(tmp_path: Path) -> Callable[..., Path]:
    """`make_notebook(cells, name="student")` -> path of the notebook written under tmp_path."""

    def make(cells: Cells, name: str = "student") -> Path:
        return write_notebook(tmp_path, cells, name)

    return make


@pytest.fixture(scope="session")
def graded_example(grade_cache_dir: Path) -> Callable[[str], GradeResult]:
    """`graded_example("alice")` -> the GradeResult of that example notebook (submissions/), on
    its assignment's rubric and EXAMPLE_DATA: each graded at most once per session, whichever
    module asks first."""
    from grader.pipeline import GradeConfig, grade_notebook

    notebooks = {e.student: e for e in examples.example_notebooks()}
    data: dict[str, DataBundle] = {}
    results: dict[str, GradeResult] = {}

    def graded(name: str) -> GradeResult:
        if name not in results:
            example = notebooks[name]
            assignment = example.assignment
            if assignment not in data:
                data[assignment] = load_data(None, **EXAMPLE_DATA[assignment])
            config = GradeConfig(rubric=load_rubric(RUBRICS / f"{assignment}.yaml"),
                                 data=data[assignment], cache_dir=grade_cache_dir,
                                 confine=confine_examples_from_env())
            results[name] = grade_notebook(example.path, config)
        return results[name]

    return graded
