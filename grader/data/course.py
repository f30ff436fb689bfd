"""Course data: the files an assignment ships in its own folder -> what each notebook's folder gets.

`course_data(root, files, hidden, writer)` takes the rubric's `data.files` and `data.hidden` (paths
relative to the rubric's folder `root`) and an optional writer (the reference function that writes
data files into the folder it is given, run here once into a private staging folder), and returns a
`CourseData` fingerprinted over every byte of it. `copy_course_files(course, workdir)` copies the
public files and the writer's files into a notebook's folder; hidden files never leave the grader:
reference functions open them with `DataBundle.course_file(name)`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.data.bundle import DataError
from grader.sandbox.plumbing import temp_prefix

Writer = Callable[[Path], object]


@dataclass(frozen=True, eq=False)
class CourseData:
    """An assignment's own data files: public ones for the notebook, hidden ones for the grader."""

    root: Path  # the rubric's folder: names are relative to it
    files: tuple[Path, ...]  # copied into every notebook's folder under their own names
    hidden: tuple[Path, ...]  # read only by reference functions
    staged: Path | None  # what the writer wrote, copied into every notebook's folder
    fingerprint: str
    _cleanup: object = field(default=None, repr=False)

    def file(self, name: str | Path) -> Path:
        """The path of a declared file (or of a file inside a declared folder)."""
        path = (self.root / name).resolve()
        for declared in (*self.files, *self.hidden):
            if path == declared or declared in path.parents:
                return path
        names = ", ".join(str(p.relative_to(self.root)) if p.is_relative_to(self.root) else str(p)
                          for p in (*self.files, *self.hidden)) or "none"
        raise DataError(f"'{name}' is not among the rubric's data files and hidden files "
                        f"({names})")

    def describe(self) -> str:
        """One sentence for reports: what notebooks get, what stays with the grader."""
        given = [p.name + ("/" if p.is_dir() else "") for p in self.files]
        if self.staged is not None:
            given += sorted(p.name for p in self.staged.iterdir())
        return (f"the assignment's own files: {', '.join(given) or 'none'} in the notebook's "
                f"folder, {len(self.hidden)} hidden with the grader")

    def summary(self) -> dict[str, object]:
        return {"files": [p.name for p in self.files], "hidden": len(self.hidden),
                "written": sorted(p.name for p in self.staged.iterdir()) if self.staged else []}


def course_data(root: Path, files: Sequence[str], hidden: Sequence[str],
                writer: Writer | None) -> CourseData:
    """Resolve, stage and fingerprint an assignment's data (raises DataError naming a bad path)."""
    public = tuple(_existing(root, name) for name in files)
    secret = tuple(_existing(root, name) for name in hidden)
    staged = None
    cleanup = None
    if writer is not None:
        # named like every grader temp folder (with this pid), so that the stale-temp clean-up
        # (batch/lifetime.py) removes it after a grader that was killed
        staged = Path(tempfile.mkdtemp(prefix=temp_prefix("grade-course-data")))
        writer(staged)
    digest = hashlib.sha256()
    for kind, paths in (("files", public), ("hidden", secret), ("written", (staged,) if staged
                                                                 else ())):
        digest.update(kind.encode())
        for path in paths:
            _hash_tree(path, digest)
    course = CourseData(root, public, secret, staged, digest.hexdigest()[:16])
    if staged is not None:
        cleanup = weakref.finalize(course, shutil.rmtree, staged, True)
        object.__setattr__(course, "_cleanup", cleanup)
    return course


def _existing(root: Path, name: str) -> Path:
    path = (root / name).resolve()
    if not path.exists():
        raise DataError(f"data file '{name}' does not exist (looked for {path})")
    return path


def _hash_tree(path: Path, digest: hashlib._Hash) -> None:
    """Names and bytes of a file, or of every file below a folder, in a stable order."""
    entries: Iterable[Path] = [path] if path.is_file() else sorted(p for p in path.rglob("*")
                                                                   if p.is_file())
    for entry in entries:
        digest.update(str(entry.relative_to(path.parent)).encode())
        digest.update(entry.read_bytes())


def copy_course_files(course: CourseData, workdir: Path) -> list[Path]:
    """Copy the public files and the writer's files into a notebook's folder; returns the paths."""
    sources = list(course.files)
    if course.staged is not None:
        sources += sorted(course.staged.iterdir())
    written = []
    for source in sources:
        target = workdir / source.name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)
        written.append(target)
    return written
