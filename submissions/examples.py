"""The example notebooks' sources: handout templates and students' answers -> notebook cells.

Takes the text files under `submissions/src/` (format in `submissions/src/README.md`):

  src/<assignment>.md            the handout: headings, prose and given code cells, each named,
                                 and the answer slots (an empty fenced block `answer=<slot>`)
  src/<assignment>/<student>.md  one example student: answers by slot name, optionally starting
                                 from another student's answers (`based_on`) and leaving slots
                                 out (`omit`)
  src/starter/<assignment>.md    the handout's starter code in each slot: the blank handout as
                                 distributed, built into rubrics/handouts/<assignment>.ipynb with
                                 each cell's role in its metadata (grader/handout.py reads it)

and returns plain data: `answers(assignment, student)` (slot -> source, None for a slot left
out), `notebook_cells(assignment, answers)` ((kind, source) pairs, as tests build notebooks),
`given(assignment, name)` (a handout cell by name), and each example notebook's exact file text
(`expected_notebooks()`), which `submissions/build.py` writes or checks. A mistake in a source
file is a `SourceError` naming the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nbformat
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
# Where each assignment's example notebooks are written, relative to submissions/.
NOTEBOOK_FOLDERS = {"lab9": ".", "hw2": "hw2"}

KINDS = {"python": "code", "markdown": "markdown"}  # fence language -> notebook cell kind
MARKER = re.compile(r"<!--\s*(\w+)\s*-->")
FENCE = re.compile(r"(`{3,})(.*)")
NAMED_FENCE = re.compile(r"(python|markdown)\s+(given|answer)=(\w+)(?:\s+handout_data=([\d,-]+))?")
HANDOUTS = HERE.parent / "rubrics" / "handouts"  # the blank handouts the grader reads
STUDENT_KEYS = {"about", "based_on", "omit", "lose"}  # lose: the fidelity corpus

Cells = list[tuple[str, str]]


class SourceError(ValueError):
    """A mistake in a source file under submissions/src/; the message names the file and line."""


@dataclass(frozen=True)
class Cell:
    """One cell of a handout: given (with its source) or an answer slot (source "")."""

    kind: str  # "markdown" or "code"
    name: str
    source: str
    slot: bool
    handout_data: tuple[int, ...] = ()  # lines that hold the handout's own data sizes

@dataclass(frozen=True)
class Block:
    """A fenced block carrying `given=<name>` or `answer=<name>`."""

    kind: str
    role: str
    name: str
    source: str
    handout_data: tuple[int, ...] = ()


@dataclass(frozen=True)
class Example:
    """One example notebook: whose it is and where its file is."""

    assignment: str
    student: str
    path: Path  # the notebook file


def _where(path: Path, line: int) -> str:
    shown = path.relative_to(HERE.parent) if path.is_relative_to(HERE.parent) else path
    return f"{shown}:{line}"


def _read(path: Path) -> tuple[dict, list[tuple[int, str | Block]]]:
    """The file's front matter (YAML between `---` lines, optional) and its body, each item with
    its line number: a line of text, a fenced block in prose (one text of several lines), or a
    named fenced block (a Block)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    meta: dict = {}
    start = 0
    if lines[0] == "---":
        if "---" not in lines[1:]:
            raise SourceError(f"{_where(path, 1)}: front matter has no closing '---'")
        end = lines.index("---", 1)
        try:
            meta = yaml.safe_load("\n".join(lines[1:end])) or {}
        except yaml.YAMLError as error:
            raise SourceError(f"{_where(path, 2)}: front matter is not YAML: {error}") from None
        if not isinstance(meta, dict):
            raise SourceError(f"{_where(path, 2)}: front matter must be 'key: value' lines")
        start = end + 1
    body: list[tuple[int, str | Block]] = []
    i = start
    while i < len(lines):
        fence = FENCE.fullmatch(lines[i])
        if fence is None:
            body.append((i + 1, lines[i]))
            i += 1
            continue
        ticks, info = fence.group(1), fence.group(2).strip()
        named = NAMED_FENCE.fullmatch(info)
        if named is None and len(info.split()) > 1:  # attributes, but not ones we know
            raise SourceError(f"{_where(path, i + 1)}: cannot read fence {info!r}: write "
                              "'python given=<name>', 'python answer=<slot>' or 'markdown ...'")
        close = next((j for j in range(i + 1, len(lines))
                      if re.fullmatch(f"{ticks}`*\\s*", lines[j])), None)
        if close is None:
            raise SourceError(f"{_where(path, i + 1)}: fenced block is never closed")
        if named is None:  # a fence inside prose, kept whole: no '<!-- name -->' in it counts
            body.append((i + 1, "\n".join(lines[i:close + 1])))
        else:
            language, role, name, data_lines = named.groups()
            body.append((i + 1, Block(KINDS[language], role, name,
                                      "\n".join(lines[i + 1:close]).strip("\n"),
                                      _line_numbers(data_lines))))
        i = close + 1
    return meta, body


def _line_numbers(text: str | None) -> tuple[int, ...]:
    """'3-6,9' -> (3, 4, 5, 6, 9)."""
    numbers: list[int] = []
    for part in (text or "").split(","):
        if part:
            lo, _, hi = part.partition("-")
            numbers += range(int(lo), int(hi or lo) + 1)
    return tuple(numbers)


def read_handout(path: Path) -> tuple[Cell, ...]:
    """The handout's cells in order: markdown cells start at a `<!-- name -->` line, code cells
    are fenced blocks `given=<name>`, answer slots empty fenced blocks `answer=<slot>`."""
    meta, body = _read(path)
    if unknown := sorted(set(meta) - {"about"}):
        raise SourceError(f"{_where(path, 1)}: unknown front matter key(s) {unknown} "
                          "(allowed: ['about'])")
    cells: list[Cell] = []
    defined: dict[tuple[bool, str], int] = {}
    prose: tuple[str, list[str], int] | None = None

    def add(cell: Cell, line: int) -> None:
        if (cell.slot, cell.name) in defined:
            what = "answer slot" if cell.slot else "cell"
            raise SourceError(f"{_where(path, line)}: {what} {cell.name!r} is already defined "
                              f"at line {defined[cell.slot, cell.name]}")
        defined[cell.slot, cell.name] = line
        cells.append(cell)

    def end_prose() -> None:
        if prose is not None:
            name, text, line = prose
            source = "\n".join(text).strip("\n")
            if not source:
                raise SourceError(f"{_where(path, line)}: markdown cell {name!r} is empty")
            add(Cell("markdown", name, source, slot=False), line)

    for line, item in body:
        if isinstance(item, Block):
            end_prose()
            prose = None
            if item.role == "answer" and item.source:
                raise SourceError(f"{_where(path, line)}: answer slot {item.name!r} must be "
                                  "empty (answers live in the students' files)")
            if item.role == "given" and not item.source:
                raise SourceError(f"{_where(path, line)}: given cell {item.name!r} is empty")
            add(Cell(item.kind, item.name, item.source, slot=item.role == "answer",
                     handout_data=item.handout_data), line)
        elif (marker := MARKER.fullmatch(item)) is not None:
            end_prose()
            prose = (marker.group(1), [], line)
        elif prose is not None:
            prose[1].append(item)
        elif item.strip():
            raise SourceError(f"{_where(path, line)}: text outside any cell (start a markdown "
                              "cell with a '<!-- name -->' line)")
    end_prose()
    return tuple(cells)


def read_answers(path: Path, slots: dict[str, str], seen: tuple[Path, ...] = (),
                 with_given: bool = False) -> dict[str, str | None]:
    """One student's answers (slot -> source, None for a slot left out) from `path`, given the
    handout's `slots` (name -> kind); `based_on` names a student file in the same folder. With
    `with_given`, a block `given=<name>` replaces that handout cell: answers["given:<name>"]."""
    if not path.is_file():
        where = f"{_where(seen[-1], 1)}: " if seen else ""
        raise SourceError(f"{where}no such student file {path}")
    meta, body = _read(path)
    if unknown := sorted(set(meta) - STUDENT_KEYS):
        raise SourceError(f"{_where(path, 1)}: unknown front matter key(s) {unknown} "
                          f"(allowed: {sorted(STUDENT_KEYS)})")
    answers: dict[str, str | None] = {}
    if base := meta.get("based_on"):
        base_path = path.with_name(f"{base}.md")
        if base_path in (*seen, path):
            raise SourceError(f"{_where(path, 1)}: based_on {base!r} makes a cycle")
        answers = read_answers(base_path, slots, (*seen, path), with_given)
    omit = meta.get("omit") or []
    if not isinstance(omit, list):
        raise SourceError(f"{_where(path, 1)}: omit must be a list of slots, like [ex11, ex12]")
    for slot in omit:
        if slot not in slots:
            raise SourceError(f"{_where(path, 1)}: omit names no answer slot: {slot!r}")
        answers[slot] = None
    own: set[str] = set()
    for line, item in body:
        if isinstance(item, str):  # notes between answers; a fence there has lost its slot
            if FENCE.match(item):
                raise SourceError(f"{_where(path, line)}: a fenced block here needs "
                                  "'answer=<slot>' (notes go outside fences)")
            continue
        if item.role == "given" and with_given:  # the corpus: a handout cell written otherwise
            answers[f"given:{item.name}"] = item.source
            continue
        if item.role != "answer" or item.name not in slots:
            raise SourceError(f"{_where(path, line)}: {item.role}={item.name} is no answer slot "
                              f"(slots: {', '.join(slots)})")
        if item.kind != slots[item.name]:
            raise SourceError(f"{_where(path, line)}: slot {item.name!r} holds a "
                              f"{slots[item.name]} cell, not {item.kind}")
        if item.name in own or item.name in omit:
            raise SourceError(f"{_where(path, line)}: slot {item.name!r} is answered twice "
                              "(or both answered and omitted)")
        own.add(item.name)
        answers[item.name] = item.source
    if not seen and (missing := [s for s in slots if s not in answers]):
        raise SourceError(f"{_where(path, 1)}: no answer for slot(s) {', '.join(missing)} "
                          "(answer them, or list them under 'omit')")
    return answers


@cache
def handout(assignment: str) -> tuple[Cell, ...]:
    """The cells of `assignment`'s handout template (src/<assignment>.md)."""
    if assignment not in NOTEBOOK_FOLDERS:
        raise KeyError(f"no assignment {assignment!r} (have {sorted(NOTEBOOK_FOLDERS)})")
    return read_handout(SOURCES / f"{assignment}.md")


def slots(assignment: str) -> dict[str, str]:
    """The handout's answer slots in order: slot name -> cell kind."""
    return {c.name: c.kind for c in handout(assignment) if c.slot}


def given(assignment: str, name: str) -> str:
    """The source of the handout's given cell `name` (a heading, prose or code)."""
    for cell in handout(assignment):
        if not cell.slot and cell.name == name:
            return cell.source
    raise KeyError(f"{assignment} has no given cell {name!r}")


def students(assignment: str) -> list[str]:
    """The example students of `assignment`, by file name."""
    return sorted(p.stem for p in (SOURCES / assignment).glob("*.md"))


@cache
def _answers(assignment: str, student: str) -> dict[str, str | None]:
    if student not in students(assignment):
        raise KeyError(f"{assignment} has no example student {student!r} "
                       f"(have {students(assignment)})")
    return read_answers(SOURCES / assignment / f"{student}.md", slots(assignment))


def answers(assignment: str, student: str) -> dict[str, str | None]:
    """Slot name -> the student's answer; None for a slot the student left out entirely."""
    return dict(_answers(assignment, student))


def notebook_cells(assignment: str, answers: dict[str, str | None]) -> Cells:
    """The notebook as (kind, source) pairs, kind "markdown" or "code": the handout's cells with
    each answer slot filled from `answers` (a slot whose answer is None is left out)."""
    wanted = slots(assignment)
    if missing := [s for s in wanted if s not in answers]:
        raise KeyError(f"no answer for {assignment} slot(s) {missing} (None leaves one out)")
    given_names = {f"given:{c.name}" for c in handout(assignment) if not c.slot}
    if unknown := sorted(set(answers) - set(wanted) - given_names):
        raise KeyError(f"{assignment} has no answer slot(s) {unknown}")
    cells: Cells = []
    for cell in handout(assignment):
        source = answers[cell.name] if cell.slot else answers.get(f"given:{cell.name}",
                                                                   cell.source)
        if source is not None:
            cells.append((cell.kind, source))
    return cells


def build_notebook(name: str, cells: Cells) -> nbformat.NotebookNode:
    """A v4 notebook (python3 kernel, no outputs) whose cell ids are `<name>-<index>`, so the
    same cells always give the same file."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for index, (kind, source) in enumerate(cells):
        cell = new_markdown_cell(source) if kind == "markdown" else new_code_cell(source)
        cell["id"] = f"{name.replace('_', '-')}-{index:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def example_notebooks(root: Path = HERE) -> list[Example]:
    """Every example notebook the sources give, with its path under `root`."""
    return [Example(assignment, student, root / folder / f"{student}.ipynb")
            for assignment, folder in NOTEBOOK_FOLDERS.items()
            for student in students(assignment)]


def starter_answers(assignment: str) -> dict[str, str | None]:
    """The handout's starter code, slot by slot (src/starter/<assignment>.md)."""
    return read_answers(SOURCES / "starter" / f"{assignment}.md", slots(assignment))


def handout_notebook(assignment: str) -> nbformat.NotebookNode:
    """The blank handout as distributed: given cells and starter code, each cell's metadata
    `nbgrade` saying its `role` ("given" or "starter"), `name` and, for given cells that check
    the handout's own data, `handout_data_lines` (1-based)."""
    starter = starter_answers(assignment)
    cells = []
    for cell in handout(assignment):
        source = starter[cell.name] if cell.slot else cell.source
        if source is not None:
            cells.append((cell.kind, source))
    nb = build_notebook(f"handout-{assignment}", cells)
    kept = [c for c in handout(assignment) if not c.slot or starter[c.name] is not None]
    for nb_cell, cell in zip(nb.cells, kept, strict=True):
        meta = {"role": "starter" if cell.slot else "given", "name": cell.name}
        if cell.handout_data:
            meta["handout_data_lines"] = list(cell.handout_data)
        nb_cell.metadata["nbgrade"] = meta
    return nb


def expected_notebooks(root: Path = HERE) -> dict[Path, str]:
    """Each example notebook's path under `root` -> the exact text its sources give; and each
    blank handout's, in rubrics/handouts/."""
    texts = {}
    for example in example_notebooks(root):
        cells = notebook_cells(example.assignment, answers(example.assignment, example.student))
        texts[example.path] = nbformat.writes(build_notebook(example.student, cells)) + "\n"
    for assignment in NOTEBOOK_FOLDERS:
        path = HANDOUTS / f"{assignment}.ipynb"
        texts[path] = nbformat.writes(handout_notebook(assignment)) + "\n"
    return texts


def stale_notebooks(root: Path = HERE) -> list[tuple[Path, str]]:
    """(path, why) for each notebook under `root` that is not what its sources give: missing,
    different, or an `.ipynb` in an examples folder that no source gives."""
    expected = expected_notebooks(root)
    stale = [(path, "missing" if not path.is_file() else "differs from its sources")
             for path, text in expected.items()
             if not path.is_file() or path.read_text(encoding="utf-8") != text]
    for folder in NOTEBOOK_FOLDERS.values():
        stale += [(path, "no source gives it") for path in sorted((root / folder).glob("*.ipynb"))
                  if path not in expected]
    return stale
