"""Loading an assignment: its rubric (read, parsed, validated) and its data, in one place.

`load_assignment(...)` is what the command line, the batch and every worker process call; a problem
of the rubric file or the data folder is an `AssignmentError` naming the file and what is wrong.
`detect_rubric(notebooks, rubrics_dir)` picks the shipped rubric whose headings a notebook has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.data import DataBundle, DataError, load_data
from grader.handout import HandoutError, handout_for
from grader.notebook import NotebookError, load_notebook, locate_sections
from grader.rubric import Rubric, RubricError, load_rubric, parse_rubric

RUBRICS_DIR = Path(__file__).resolve().parents[1] / "rubrics"


class AssignmentError(ValueError):
    """A rubric or data folder that cannot be used: the message names the file."""


@dataclass(frozen=True, eq=False)
class Assignment:
    rubric: Rubric
    rubric_text: str  # sent to workers, which may not see the rubric's file
    data: DataBundle


def read_rubric_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AssignmentError(f"{path}: cannot read rubric: {exc.strerror}") from None


def load_assignment(rubric_text: str, rubric_path: Path, data_dir: Path | None,
                    train_limit: int | None) -> Assignment:
    """Parse the rubric and load the data it is graded on."""
    try:
        rubric = parse_rubric(rubric_text, rubric_path)
    except RubricError as exc:
        raise AssignmentError(str(exc)) from None
    try:
        handout_for(rubric.handout, rubric.source_path)  # a missing handout stops here, named
    except HandoutError as exc:
        raise AssignmentError(str(exc)) from None
    try:
        data = load_data(data_dir, train_limit=train_limit)
    except (DataError, OSError) as exc:
        raise AssignmentError(f"--data: {exc}") from None
    return Assignment(rubric, rubric_text, data)


def detect_rubric(notebooks: Sequence[Path], rubrics_dir: Path = RUBRICS_DIR) -> Path:
    """The rubric whose question headings the first readable notebook contains most of."""
    problem = ""
    for path in notebooks:
        try:
            nb = load_notebook(path).nb
        except NotebookError as exc:
            problem = problem or f"{exc} (and no --rubric given to say which assignment it is)"
            continue
        best, best_found = None, 0
        for candidate in sorted(rubrics_dir.glob("*.yaml")):
            try:
                rubric = load_rubric(candidate)
            except RubricError:
                continue
            found = sum(s.found for s in locate_sections(nb, rubric.questions))
            if found > best_found:
                best, best_found = candidate, found
        if best is None:
            raise AssignmentError(f"{path}: none of the rubrics in {rubrics_dir} matches its "
                                  "headings; pass --rubric")
        return best
    raise AssignmentError(problem or "no notebook to detect the rubric from; pass --rubric")
