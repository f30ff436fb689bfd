"""The check registry and the two contexts every check works with.

A check type is a small class registered by name. It has a pydantic `Params` model (what the rubric
may say), `plan(params, ctx)` which returns the probe operations (grader/probes.py) to run in the
student's kernel at the end of the question's section (with grader-chosen inputs), and `score(params, ctx, results)` which turns
the plain data that came back, plus the secrets the kernel never saw, into a `Verdict`.
Adding a check type never touches the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from grader.data import DataBundle
from grader.expected import Reference
from grader.probes import Arg, FileArg, InputArg, LiteralArg, ProbeOp, StudentArg
from grader.results import SectionRecord


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


@dataclass
class Verdict:
    fraction: float  # share of the check's points earned, 0..1
    message: str
    voids_question: bool = False  # a forbidden shortcut: the whole question earns 0

    @property
    def passed(self) -> bool:
        return self.fraction >= 1.0 - 1e-9


def passed(message: str) -> Verdict:
    return Verdict(1.0, message)


def failed(message: str) -> Verdict:
    return Verdict(0.0, message)


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


class CheckType:
    """Base class: subclasses set `name`, `Params`, and implement plan() and score()."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[Params]] = Params

    def plan(self, p: Any, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        return []

    def score(self, p: Any, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        raise NotImplementedError


registry: dict[str, CheckType] = {}


def register(cls: type[CheckType]) -> type[CheckType]:
    """Class decorator: make a check type available to rubrics under `cls.name`."""
    registry[cls.name] = cls()
    return cls


def resolve_args(specs: list[Any], ctx: PlanContext, inputs: dict[str, np.ndarray],
                 hint: str) -> tuple[list[Arg], list[Any]]:
    """Rubric argument specs -> (kernel-side argument specs, grader-side values) for the same call.

    A string names an array from the check's `inputs` (sent to the kernel); `{student: NAME}` passes
    the student's own object (the reference side gets the reference function of that name);
    `{literal: V}` passes V to both; `{npz: {KEY: INPUT, ...}}` writes a file and passes its path.
    """
    kernel_side: list[Arg] = []
    grader_side: list[Any] = []
    for spec in specs:
        if isinstance(spec, str):
            if spec not in inputs:
                raise KeyError(f"argument '{spec}' is not among the inputs {sorted(inputs)}")
            kernel_side.append(InputArg(ctx.add_input(inputs[spec], hint)))
            grader_side.append(np.array(inputs[spec]))
        elif isinstance(spec, dict) and "student" in spec:
            kernel_side.append(StudentArg(spec["student"]))
            grader_side.append(ctx.reference.function(spec.get("reference", spec["student"])))
        elif isinstance(spec, dict) and "npz" in spec:
            path = ctx.write_npz(hint, **{k: inputs[v] for k, v in spec["npz"].items()})
            kernel_side.append(FileArg(path.name if spec.get("relative") else str(path)))
            grader_side.append(str(path))
        elif isinstance(spec, dict) and "literal" in spec:
            kernel_side.append(LiteralArg(spec["literal"]))
            grader_side.append(spec["literal"])
        else:
            kernel_side.append(LiteralArg(spec))
            grader_side.append(spec)
    return kernel_side, grader_side


def describe_array(a: Any) -> str:
    if isinstance(a, np.ndarray):
        return f"array {tuple(a.shape)} {a.dtype}"
    return type(a).__name__


CheckFn = Callable[..., Verdict]
