"""The handout as distributed: which of a notebook's cells are the handout's own, unchanged.

Takes the blank handout notebook a rubric names (`handout:`, a path relative to the rubric file,
built by submissions/build.py), whose cells say in `metadata.nbgrade` their `role` ("given": a cell
the handout gives; "starter": an answer cell's starter code), `name` and, for a given cell that
checks the handout's own data, `handout_data_lines`. Returns a `Handout` that tells, for a student
cell's source (whitespace-insensitive), whether it is an unchanged given cell or unchanged starter
code (`origin`), whether a section's code is all unchanged handout code (`not_attempted`), why an
error an unchanged given cell raised is expected with the grading data (`expected_error`), and
which of a section's markdown is the student's own writing (`student_text`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import nbformat

from grader.results import CellError, SectionRecord

Role = Literal["given", "starter"]
_SPACE = re.compile(r"\s+")
_CELL_LINE = re.compile(r"Cell In\[\d+\], line (\d+)")
_ARROW_LINE = re.compile(r"^-+> ?(\d+)", re.MULTILINE)


class HandoutError(ValueError):
    """A handout notebook that cannot be read; the message names the rubric and the file."""


@dataclass(frozen=True)
class HandoutCell:
    role: Role
    name: str
    source: str
    handout_data_lines: tuple[int, ...] = ()  # 1-based lines checking the handout's own data


def same_code(a: str, b: str) -> bool:
    """Equal but for whitespace (indentation, blank lines, spaces around operators)."""
    return _SPACE.sub("", a) == _SPACE.sub("", b)


@dataclass(frozen=True)
class Handout:
    path: Path
    cells: tuple[HandoutCell, ...]
    markdown: tuple[str, ...] = ()  # every markdown cell of the handout: prompts, headings

    def student_text(self, sources: list[str]) -> list[str]:
        """The student's own writing among a section's markdown cells: cells the handout has
        (prompts, the next part's heading, an untouched "(Your proof here)") are left out, and so
        are lines copied from the handout inside an edited cell."""
        whole = {_SPACE.sub("", m) for m in self.markdown}
        lines = {_SPACE.sub("", line) for m in self.markdown for line in m.splitlines()}
        lines = {line for line in lines if len(line) > 3}
        starters = sorted({m.strip() for m in self.markdown if 0 < len(m.strip()) <= 40},
                          key=len, reverse=True)  # "(Your proof here)" left before an answer
        kept = []
        for source in sources:
            if _SPACE.sub("", source) in whole:
                continue
            own = [_without_prefix(line, starters) for line in source.splitlines()
                   if _SPACE.sub("", line) not in lines]
            text = "\n".join(own).strip()
            if text:
                kept.append(text)
        return kept

    def origin(self, source: str) -> HandoutCell | None:
        """The handout cell `source` is, unchanged (given cells first), or None."""
        key = _SPACE.sub("", source)
        if not key:
            return None
        found = [c for c in self.cells if _SPACE.sub("", c.source) == key]
        return next((c for c in found if c.role == "given"), found[0] if found else None)

    def is_given(self, source: str) -> bool:
        cell = self.origin(source)
        return cell is not None and cell.role == "given"

    def is_starter(self, source: str) -> bool:
        cell = self.origin(source)
        return cell is not None and cell.role == "starter"

    def not_attempted(self, sources: list[str]) -> bool:
        """True when a section's code cells are all unchanged handout code (or blank) and at
        least one is unchanged starter code: the student left the question as handed out."""
        kept = [s for s in sources if s.strip()]
        return any(self.is_starter(s) for s in kept) and all(self.origin(s) for s in kept)

    def expected_error(self, error: CellError) -> str:
        """Why `error` is expected with the grading data, or "" when it is the student's: it was
        raised by an unchanged given cell, on a line that checks the handout's own data."""
        cell = self.origin(error.source)
        line = failing_line(error.traceback)
        if cell is None or cell.role != "given" or line not in cell.handout_data_lines:
            return ""
        shown = error.source.splitlines()[line - 1].strip() if line <= len(
            error.source.splitlines()) else ""
        return (f"expected with the grading data: line {line} of this unchanged handout cell "
                f"(`{shown[:80]}`) checks the handout's own data set, not the one graded here; "
                "it costs nothing")


def _without_prefix(line: str, prefixes: list[str]) -> str:
    """The line without a short handout text it starts with ("(Your proof here) 1. The ...")."""
    stripped = line.lstrip()
    for prefix in prefixes:
        if stripped.startswith(prefix):
            return stripped[len(prefix):].lstrip()
    return line


def failing_line(traceback: str) -> int | None:
    """The line of the cell that raised, from IPython's traceback text."""
    match = _CELL_LINE.search(traceback) or _ARROW_LINE.search(traceback)
    return int(match.group(1)) if match else None


def mark_expected_errors(record: SectionRecord, handout: Handout | None) -> SectionRecord:
    """The section's record with each error an unchanged given cell raised on the handout's own
    data marked `expected` (a copy; the record itself is left alone)."""
    if handout is None or not record.errors:
        return record
    errors = [replace(e, expected=handout.expected_error(e)) for e in record.errors]
    return replace(record, errors=errors)


def keep_student_text(record: SectionRecord, handout: Handout | None) -> SectionRecord:
    """The section's record with only the student's own writing in `markdown` (a copy): what
    the reports, the released report and the review page show as the student's answer."""
    if handout is None or not record.markdown:
        return record
    return replace(record, markdown=handout.student_text(record.markdown))


@functools.cache
def _load(path: Path, mtime_ns: int) -> Handout:
    nb = nbformat.read(str(path), as_version=4)
    cells = []
    markdown = tuple(c.source for c in nb.cells if c.cell_type == "markdown")
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrade", {})
        if cell.cell_type != "code" or meta.get("role") not in ("given", "starter"):
            continue
        cells.append(HandoutCell(meta["role"], str(meta.get("name", "")), cell.source,
                                 tuple(int(n) for n in meta.get("handout_data_lines", []))))
    return Handout(path, tuple(cells), markdown)


def load_handout(path: Path, rubric_path: str = "") -> Handout:
    """Read a handout notebook (cached per file version); HandoutError naming it otherwise."""
    where = f"{rubric_path}: handout: " if rubric_path else ""
    try:
        return _load(path.resolve(), path.stat().st_mtime_ns)
    except OSError as exc:
        raise HandoutError(f"{where}cannot read {path}: {exc.strerror}") from None
    except Exception as exc:  # noqa: BLE001  (nbformat raises many kinds on a malformed file)
        raise HandoutError(f"{where}{path} is not a readable notebook: {exc}") from None


def handout_for(handout: str | None, folder: str, rubric_path: str) -> Handout | None:
    """The handout a rubric names (relative to the rubric file's `folder`), or None when it names
    none; `rubric_path` names the rubric in messages."""
    if not handout:
        return None
    base = Path(folder) if folder else Path(rubric_path).resolve().parent
    return load_handout(base / handout, rubric_path)
