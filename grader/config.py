"""The configuration of one grading run: the rubric, the data and the execution settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.data import DataBundle
from grader.results import CellProgress
from grader.rubric import Rubric


@dataclass(frozen=True)
class GradeConfig:
    rubric: Rubric
    data: DataBundle
    cache_dir: Path | None = None
    cell_timeout: float | None = None  # overrides the rubric's
    notebook_timeout: float | None = None
    confine: bool = True
    limits: object | None = None  # grader.sandbox.confine.Limits; None = from the rubric
    keep_workdir: bool = False
    font_cache: Path | None = None  # confine.build_font_cache(...), built once per grader run
    extra_env: dict[str, str] = field(default_factory=dict)
    # told before each cell runs (the live status line); None in workers, whose display is elsewhere
    on_progress: Callable[[CellProgress], None] | None = None


