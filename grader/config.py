"""The configuration of one grading run: the rubric, the data and the execution settings."""

from __future__ import annotations

import os
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
    kernels_at_once: int = 1  # kernels this machine runs at the same time (batch workers)

    @property
    def kernel_threads(self) -> int:
        """Threads for torch/BLAS in each kernel: the rubric's `limits.threads` when it sets
        one, else the cores shared among the kernels running at once (plain execution of one
        notebook gets every core, and so does grading it)."""
        return self.rubric.limits.threads or kernel_threads(self.kernels_at_once)


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def kernel_threads(kernels_at_once: int) -> int:
    return max(1, cores() // max(1, kernels_at_once))


