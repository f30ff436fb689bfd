"""Notebook stage: a .ipynb path -> a validated v4 notebook and its question sections.

Questions are located by the handout's headings in markdown cells (failing that, by a heading line
holding the question's title: a heading written without its number), so students may add, remove or
reorder cells inside a section. A section runs from its heading cell to the next located heading; its
artifacts are captured when execution reaches that boundary.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.rubric import QuestionSpec


class NotebookError(ValueError):
    """A notebook that cannot be graded at all; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Section:
    question_id: str
    heading_cell: int | None  # index of the heading cell; None when the heading was not found
    start: int  # first cell index of the section (inclusive)
    end: int  # capture point: artifacts are captured before cell `end` runs
    found: bool
    note: str = ""
    by_title: bool = False  # found by the question's title, its heading text being absent


@dataclass(frozen=True)
class LoadedNotebook:
    path: Path
    nb: nbformat.NotebookNode
    sha256: str


MAX_NOTEBOOK_BYTES = 200 * 2**20


def load_notebook(path: Path) -> LoadedNotebook:
    """Read, upgrade (v3 -> v4) and validate a notebook; raise NotebookError for unusable input."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NotebookError(f"{path}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"{path}: {len(raw) / 2**20:.0f} MB is larger than a notebook can be")
    if not raw.strip():
        raise NotebookError(f"{path}: the file is empty")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise NotebookError(f"{path}: not a notebook: invalid JSON{where}") from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise NotebookError(f"{path}: not a notebook: JSON without an 'nbformat' field")
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001  (nbformat raises many types on malformed input)
        raise NotebookError(f"{path}: not a readable notebook: {exc}") from None
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise NotebookError(f"{path}: invalid notebook structure: {exc.message}") from None
    for cell in nb.cells:
        if isinstance(cell.get("source"), list):
            cell.source = "".join(cell.source)
    return LoadedNotebook(path=path, nb=nb, sha256=hashlib.sha256(raw).hexdigest())


def heading_pattern(heading: str) -> re.Pattern[str]:
    """'Exercise 1.2' matches 'Exercise 1.2 – Define...' but not 'Exercise 1.2.1' or '1.20'."""
    words = [re.escape(w) for w in heading.split()]
    return re.compile(r"\s+".join(words) + r"(?![.]?\d)", re.IGNORECASE)


_HEADING_LINE = re.compile(r"^\s{0,3}#{1,6}\s+(.*)$")


def _heading_lines(source: str) -> list[str]:
    return [m.group(1) for line in source.splitlines() if (m := _HEADING_LINE.match(line))]


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip().strip("*_ ")
    return ""


def _find_heading(cells: list, pattern: re.Pattern[str]) -> int | None:
    """Index of the markdown cell whose heading line (or, failing that, first line) matches."""
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown" and any(pattern.match(h.strip("*_ ")) or pattern.search(h)
                                                for h in _heading_lines(cell.source)):
            return i
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown" and pattern.match(_first_line(cell.source)):
            return i
    return None


def _find_title(cells: list, title: str, taken: set[int | None]) -> int | None:
    """Index of a markdown cell, not another question's heading, with a heading line that
    contains the question's title (case and spacing aside), e.g. '### Centering the data'."""
    words = [re.escape(w) for w in title.split()]
    if not words:
        return None
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)
    for i, cell in enumerate(cells):
        if i not in taken and cell.cell_type == "markdown" and any(
                pattern.search(h) for h in _heading_lines(cell.source)):
            return i
    return None


def locate_sections(nb: nbformat.NotebookNode, questions: list[QuestionSpec]) -> list[Section]:
    """One Section per question, in rubric order.

    A question whose heading is missing is captured where the next found question starts (or at the
    end of the notebook), so its artifacts are still graded; the note says so.
    """
    cells = nb.cells
    found = {q.id: _find_heading(cells, heading_pattern(q.heading)) for q in questions}
    by_title = set()
    for q in questions:  # a heading without its number: the question's title as a heading line
        if found[q.id] is None:
            found[q.id] = _find_title(cells, q.title, set(found.values()))
            if found[q.id] is not None:
                by_title.add(q.id)
    starts = sorted(i for i in found.values() if i is not None)
    sections = []
    for qi, q in enumerate(questions):
        idx = found[q.id]
        if idx is not None:
            later = [s for s in starts if s > idx]
            end = later[0] if later else len(cells)
            sections.append(Section(q.id, idx, idx, end, True, by_title=q.id in by_title))
            continue
        following = [found[n.id] for n in questions[qi + 1:] if found[n.id] is not None]
        end = following[0] if following else len(cells)
        after = next((n.heading for n in questions[qi + 1:] if found[n.id] is not None), None)
        where = f"before '{after}'" if after else "at the end of the notebook"
        sections.append(Section(
            q.id, None, end, end, False,
            note=f"heading '{q.heading}' not found in the notebook: graded on the state {where}",
        ))
    return sections
