"""The check registry and the two contexts every check works with.

A check type is a small class registered by name. It has a pydantic `Params` model (what the rubric
may say), `plan(params, ctx)` which returns the probe operations (grader/probes.py) to run in the
student's kernel at the end of the question's section (with grader-chosen inputs), and
`score(params, ctx, results)`, which turns the plain data that came back, plus the secrets the kernel
never saw, into a `Verdict`. Defining the class registers it; adding a check type never touches the
pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from grader.data import DataBundle
from grader.expected import Reference
from grader.probes import ProbeOp
from grader.results import SectionRecord


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


@dataclass
class Verdict:
    fraction: float  # share of the check's points earned, 0..1
    message: str
    voids_question: bool = False  # a forbidden shortcut: the whole question earns 0
    note: bool = False  # full marks, but something differs: reported as a note
    grader_problem: bool = False  # the grader's (rubric's, reference's) fault: not counted at all

    @classmethod
    def ok(cls, message: str) -> Verdict:
        """Full marks for the check, with the sentence a report shows."""
        return cls(1.0, message)

    @classmethod
    def fail(cls, message: str) -> Verdict:
        """No marks for the check, with the sentence saying why."""
        return cls(0.0, message)

    @classmethod
    def noted(cls, message: str) -> Verdict:
        """Full marks, with a note on a difference that costs nothing."""
        return cls(1.0, message, note=True)

    @classmethod
    def grader(cls, message: str) -> Verdict:
        """The check could not judge the notebook through no fault of the student's (an input
        outside the assignment's domain, a reference that raised): excluded from the score and
        from the maximum, and the report says why."""
        return cls(0.0, message, grader_problem=True)

    @property
    def passed(self) -> bool:
        return self.fraction >= 1.0 - 1e-9


@dataclass
class OpResult:
    """What one probe operation returned: plain data with arrays resolved, or an error."""

    ok: bool
    data: dict[str, Any]
    error: dict[str, str] | None = None

    def failure_sentence(self, what: str) -> str:
        if self.error is None:
            return f"{what}: no result"
        ename, evalue = self.error.get("ename", "Error"), self.error.get("evalue", "")
        return f"{what} raised {ename}: {evalue}".strip()


@dataclass
class PlanContext:
    """What a check may use to plan its probes: reference, data, and an input/file writer."""

    question_id: str
    reference: Reference
    data: DataBundle
    io_dir: Path  # grader-written files the kernel may read (inside the sandbox's workdir)
    assigned_names: list[str] = field(default_factory=list)  # bound in the section, last first
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    _counter: int = 0

    def add_input(self, array: np.ndarray, hint: str = "x") -> str:
        """Register an array to send to the kernel; returns its key for probe ops."""
        self._counter += 1
        key = f"q{self.question_id.replace('.', '_')}_{hint}_{self._counter}"
        self.inputs[key] = np.ascontiguousarray(array)
        return key

    def write_npz(self, name: str, **arrays: np.ndarray) -> Path:
        """Write an npz file the student's code will open; returns its path."""
        self._counter += 1
        path = self.io_dir / f"{self.question_id.replace('.', '_')}_{self._counter}_{name}.npz"
        np.savez(path, **arrays)
        return path


@dataclass
class ScoreContext:
    """What a check may use to score: reference, data (with hidden labels), the section's record."""

    question_id: str
    reference: Reference
    data: DataBundle
    section: SectionRecord
    notebook_sources: list[str]  # every cell's source, by index, for static analysis
    outcomes: dict[str, bool]  # earlier checks of this question, by name: passed?
    plan_state: dict[str, Any]  # what plan() stored for score() (expected values, keys)
    cell_of_execution: dict[int, int] = field(default_factory=dict)  # execution count -> cell


registry: dict[str, CheckType] = {}
"""Check types by name, filled as check modules define them."""


class CheckType:
    """Base class: subclasses set `name`, `Params`, and implement plan() and score().

    Defining a subclass with a `name` registers it for rubrics under that name; a second check type
    with the same name is refused.
    """

    name: ClassVar[str] = ""
    Params: ClassVar[type[Params]] = Params

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            if cls.name in registry:
                raise TypeError(f"two check types are named '{cls.name}': "
                                f"{type(registry[cls.name]).__qualname__} and {cls.__qualname__}")
            registry[cls.name] = cls()

    def reads(self, p: Any) -> list[str]:
        """Names of the question's other checks whose outcomes score() reads (scored first)."""
        return []

    def plan(self, p: Any, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        return []

    def score(self, p: Any, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        raise NotImplementedError


