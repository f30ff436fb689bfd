"""Discovery: the paths given to `grade` (folders, globs, files) -> one `Submission` per student.

Standard library only, so that `grade` answers a mistyped path at once.
"""

from __future__ import annotations

import csv
import glob
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Identity = Literal["file", "folder"]


class BatchInputError(ValueError):
    """Input a run cannot use (no notebooks, a bad roster, a refused re-score): exit status 2."""


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path


def _visible(paths: Iterable[Path]) -> list[Path]:
    return sorted(p for p in paths if p.is_file() and not p.name.startswith(".")
                  and ".ipynb_checkpoints" not in p.parts)


def has_wildcards(text: str) -> bool:
    return any(c in text for c in "*?[")


def _glob_root(pattern: str) -> Path:
    """The folder a glob was given relative to: its longest prefix without wildcards."""
    fixed = []
    for part in Path(pattern).parts:
        if has_wildcards(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def student_of(notebook: Path, root: Path, identity: Identity | None) -> str:
    """`alice.ipynb` -> alice (file), `alice/hw2.ipynb` -> alice (folder); None: folder when the
    notebook is not directly in the folder that was given."""
    if identity is None:
        identity = "file" if notebook.parent.resolve() == root.resolve() else "folder"
    return notebook.parent.resolve().name if identity == "folder" else notebook.stem


def discover(paths: Sequence[Path], identity: Identity | None = None) -> list[Submission]:
    """Expand folders (their *.ipynb, else <student>/*.ipynb), globs and files into submissions."""
    found: list[tuple[Path, Path]] = []
    for p in paths:
        if p.is_dir():
            notebooks = _visible(p.glob("*.ipynb")) or _visible(p.glob("*/*.ipynb"))
            found += [(nb, p) for nb in notebooks]
        elif p.is_file():
            found.append((p, p.parent))
        elif has_wildcards(str(p)):
            matches = _visible(Path(m) for m in glob.glob(str(p), recursive=True)
                               if m.endswith(".ipynb"))
            if not matches:
                raise BatchInputError(f"{p}: no notebooks match this pattern")
            found += [(nb, _glob_root(str(p))) for nb in matches]
        else:
            raise BatchInputError(f"{p}: no such file or folder")
    if not found:
        raise BatchInputError("no .ipynb notebooks found in " + ", ".join(map(str, paths)))
    by_student: dict[str, Path] = {}
    for nb, root in found:
        student = student_of(nb, root, identity)
        other = by_student.get(student)
        if other is not None and other.resolve() != nb.resolve():
            raise BatchInputError(
                f"two notebooks for student '{student}': {other} and {nb}; grade one of them "
                "(name it, or use a glob such as 'submissions/*/hw2.ipynb'), or choose "
                "--identity file")
        by_student[student] = nb
    return [Submission(s, p) for s, p in by_student.items()]


def is_single_notebook(paths: Sequence[Path]) -> bool:
    """One notebook file named on its own: the summary shows its questions, not a class table."""
    return len(paths) == 1 and paths[0].is_file()


def read_roster(path: Path) -> list[str]:
    """Student names from a CSV file with a `student` column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BatchInputError(f"{path}: cannot read the roster: {exc.strerror}") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = {name.strip().lower(): name for name in reader.fieldnames or []}
    if "student" not in columns:
        raise BatchInputError(f"{path}: a roster is a CSV file with a 'student' column "
                              f"(this one has: {', '.join(reader.fieldnames or []) or 'none'})")
    names = [(row.get(columns["student"]) or "").strip() for row in reader]
    return list(dict.fromkeys(n for n in names if n))
