"""Loading an assignment: its rubric (read, parsed, validated), reference and data, in one place.

`load_assignment(...)` is what the command line, the batch and every worker process call: the rubric
is parsed (rubric.py) and validated with its reference module (validate.py), so a rubric with any
problem is refused before anyone is graded; then the data are loaded, with the assignment's own files
(`data: files / hidden / writer`) staged once. Any problem is an `AssignmentError` naming the file
and place. `detect_rubric(notebooks, rubrics_dir)` picks, among the shipped rubrics that load, the one
whose headings a notebook has, and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.data import CourseData, DataBundle, DataError, course_data, load_data
from grader.expected import Reference, ReferenceError_
from grader.handout import HandoutError, handout_for
from grader.notebook import NotebookError, load_notebook, locate_sections
from grader.rubric import Rubric, RubricError, load_rubric, parse_rubric
from grader.rubric_source import rubric_error
from grader.validate import StaticReport, rubric_folder, validate_rubric

RUBRICS_DIR = Path(__file__).resolve().parents[1] / "rubrics"


class AssignmentError(ValueError):
    """A rubric or data folder that cannot be used: the message names the file."""


@dataclass(frozen=True, eq=False)
class Assignment:
    rubric: Rubric
    rubric_text: str  # sent to workers, which may not see the rubric's file
    data: DataBundle
    checked: StaticReport  # what validation checked (reference functions named)


def read_rubric_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AssignmentError(f"{path}: cannot read rubric: {exc.strerror}") from None


def checked_rubric(rubric_text: str, rubric_path: Path, folder: Path | None = None
                   ) -> tuple[Rubric, StaticReport]:
    """Parse and validate a rubric with its reference module; raises AssignmentError listing every
    problem at its file:line:column. Relative paths start at `folder` (default: the rubric's)."""
    try:
        rubric = parse_rubric(rubric_text, rubric_path, folder)
    except RubricError as exc:
        raise AssignmentError(str(exc)) from None
    report = validate_rubric(rubric)
    if report.problems:
        raise AssignmentError(str(rubric_error(report.problems)))
    return rubric, report


def load_assignment(rubric_text: str, rubric_path: Path, data_dir: Path | None,
                    train_limit: int | None, folder: Path | None = None) -> Assignment:
    """Validate the rubric and load the data it is graded on (relative paths start at `folder`,
    by default the real folder of `rubric_path`)."""
    rubric, report = checked_rubric(rubric_text, rubric_path, folder)
    try:
        handout_for(rubric.handout, rubric.folder, rubric.source_path)  # missing: named here
    except HandoutError as exc:
        raise AssignmentError(str(exc)) from None
    try:
        data = load_data(data_dir, train_limit=train_limit)
    except (DataError, OSError) as exc:
        raise AssignmentError(f"--data: {exc}") from None
    spec = rubric.data
    if spec.files or spec.hidden or spec.writer:
        data = data.with_course(_course(rubric, data), only=not spec.layouts)
    return Assignment(rubric, rubric_text, data, report)


def _course(rubric: Rubric, data: DataBundle) -> CourseData:
    spec = rubric.data
    writer = None
    if spec.writer:
        reference = Reference(rubric.reference, data, None)

        def writer(folder: Path) -> object:
            return reference.call(spec.writer, folder, cache=False)
    try:
        return course_data(rubric_folder(rubric), spec.files, spec.hidden, writer)
    except ReferenceError_ as exc:
        place = rubric.source.place(("data", "writer"))
        raise AssignmentError(f"{place}: data: writer: {exc}") from None
    except (DataError, OSError) as exc:
        raise AssignmentError(f"{rubric.source.place(('data',))}: data: {exc}") from None


@dataclass(frozen=True)
class Detection:
    """The rubric chosen for some notebooks, why, and the rubrics skipped because they are broken."""

    path: Path
    reason: str
    skipped: list[str] = field(default_factory=list)


def detect_rubric(notebooks: Sequence[Path], rubrics_dir: Path = RUBRICS_DIR) -> Detection:
    """Among the rubrics in `rubrics_dir` that load, the one whose question headings the first
    readable notebook contains most of."""
    problem = ""
    for path in notebooks:
        try:
            nb = load_notebook(path).nb
        except NotebookError as exc:
            problem = problem or f"{exc} (and no --rubric given to say which assignment it is)"
            continue
        skipped: list[str] = []
        ranked = []
        for candidate in sorted(rubrics_dir.glob("*.yaml")):
            try:
                rubric = load_rubric(candidate)
            except RubricError as exc:
                skipped.append(_skip_note(candidate, str(exc)))
                continue
            found = sum(s.found for s in locate_sections(nb, rubric.questions))
            ranked.append((-found, str(candidate), rubric))
        for minus_found, candidate, rubric in sorted(ranked, key=lambda r: r[:2]):
            if minus_found == 0:
                break
            report = validate_rubric(rubric)
            if report.problems:
                skipped.append(_skip_note(Path(candidate), str(rubric_error(report.problems))))
                continue
            reason = (f"{rubric.assignment}: {-minus_found} of {len(rubric.questions)} headings "
                      f"found in {path.name}")
            return Detection(Path(candidate), reason, skipped)
        notes = "".join(f"\n  {s}" for s in skipped)
        raise AssignmentError(f"{path}: none of the rubrics in {rubrics_dir} that load matches "
                              f"its headings; pass --rubric{notes}")
    raise AssignmentError(problem or "no notebook to detect the rubric from; pass --rubric")


def _skip_note(path: Path, message: str) -> str:
    """One line: which rubric was skipped and its first problem."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    first = lines[1] if len(lines) > 1 and lines[0].startswith("invalid rubric") else lines[0]
    more = f" (and {len(lines) - 2} more)" if len(lines) > 2 else ""
    return f"skipped {path.name}, which does not load: {first}{more}"
