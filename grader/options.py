"""What `grade` was asked to do: one options object per command, built once from the command line.

Standard library only: the command line builds it before any heavy module is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Identity = Literal["file", "folder"]
DEFAULT_CACHE = Path.home() / ".cache" / "nbgrade-ml"


@dataclass(frozen=True)
class GradeOptions:
    """Every setting of one `grade` run; `run_batch(options)` grades one notebook or a class."""

    paths: tuple[Path, ...]
    out_dir: Path | None = None  # None: grades/<assignment>
    rubric_path: Path | None = None  # None: detected from the notebooks' headings
    data_dir: Path | None = None  # None: the offline digits profile
    train_limit: int | None = None
    cell_timeout: float | None = None  # None: the rubric's
    notebook_timeout: float | None = None
    reference_cache: Path | None = DEFAULT_CACHE
    confine: bool = True
    workers: int | None = None  # None: one per core
    force: bool = False
    rescore: bool = False
    dask: str | None = None  # a scheduler address, or "local"
    identity: Identity | None = None
    roster: Path | None = None
    quiet: bool = False  # only the final summary and what went wrong
    warm: bool = True  # in a batch, start each worker's next kernel ahead (batch/warm.py)

    def out_for(self, assignment: str) -> Path:
        return self.out_dir if self.out_dir is not None else Path("grades") / assignment


@dataclass(frozen=True)
class ValidateOptions:
    """Every setting of one `grade validate` run."""

    rubrics: tuple[Path, ...]  # rubric files; () means every rubric of the grader's rubrics/
    solution: Path | None = None  # None: solution.ipynb next to each rubric, if there is one
    data_dir: Path | None = None
    train_limit: int | None = None
    cell_timeout: float | None = None
    reference_cache: Path | None = DEFAULT_CACHE
    confine: bool = True


@dataclass(frozen=True)
class InitOptions:
    """Every setting of one `grade init` run."""

    solution: Path
    out: Path | None = None  # None: print the draft
    reference: str = "reference.py"
    force: bool = False  # overwrite `out`
