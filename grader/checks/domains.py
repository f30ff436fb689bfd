"""Input domains: what the assignment itself could give a student's function, and the grader's own
inputs checked against it before they are sent.

A reference module states, next to each function that makes the grader's inputs, the domain those
inputs sample: `DOMAINS = {"<inputs function>": {"<input name>": {...}}}` (an inputs function that
returns one array names it "batch"), each entry with any of

    dtype: float64              # or a list of the dtypes the assignment gives
    shape: [[600, null], 784]   # per dimension: an int, [lo, hi] (null: unbounded), or null (any)
    min: 0                      # value range, inclusive
    max: 1
    about: where the domain comes from (the handout's data, its docstrings)

Takes those declarations and the inputs a check made; returns the problems (`domain_problems`) and a
short description of each input (`describe`), which reports show next to any error the student's
code raised on it. An input outside its domain is the grader's mistake: the check that made it is
not run and not counted (`DomainError`, reported through `Verdict.grader`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

Dim = int | list[int | None] | None


class Domain(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dtype: str | list[str] | None = None
    shape: list[Dim] | None = None
    min: float | None = None
    max: float | None = None
    about: str = ""


class DomainError(ValueError):
    """A grader input outside the domain its reference states: the grader's problem."""


def _dim_ok(size: int, want: Dim) -> bool:
    if want is None:
        return True
    if isinstance(want, int):
        return size == want
    lo, hi = want
    return (lo is None or size >= lo) and (hi is None or size <= hi)


def _dim_text(want: Dim) -> str:
    if want is None:
        return "any"
    if isinstance(want, int):
        return str(want)
    lo, hi = want
    return f"{lo or 0}..{'' if hi is None else hi}"


def domain_problems(name: str, value: Any, domain: Domain) -> list[str]:
    """Sentences saying how `value` falls outside `domain`; [] when it is inside."""
    arr = np.asarray(value)
    problems = []
    dtypes = [domain.dtype] if isinstance(domain.dtype, str) else domain.dtype
    if dtypes and str(arr.dtype) not in dtypes:
        problems.append(f"{name} has dtype {arr.dtype}, the assignment gives {' or '.join(dtypes)}")
    if domain.shape is not None:
        ok = arr.ndim == len(domain.shape) and all(
            _dim_ok(int(s), w) for s, w in zip(arr.shape, domain.shape))
        if not ok:
            wanted = "(" + ", ".join(_dim_text(w) for w in domain.shape) + ")"
            problems.append(f"{name} has shape {tuple(arr.shape)}, the assignment gives {wanted}")
    if arr.size and arr.dtype.kind in "biuf":
        low, high = float(arr.min()), float(arr.max())
        if domain.min is not None and low < domain.min or domain.max is not None and high > \
                domain.max:
            problems.append(f"{name} has values in [{low:g}, {high:g}], the assignment's are in "
                            f"[{domain.min:g}, {domain.max:g}]")
    return problems


def describe(name: str, value: Any) -> str:
    """`Xs float64 (600, 784) in [0, 1]`: what a grader input is, for reports."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf" or not arr.size:
        return f"{name} {arr.dtype} {tuple(arr.shape)}"
    return f"{name} {arr.dtype} {tuple(arr.shape)} in [{float(arr.min()):g}, {float(arr.max()):g}]"


def check_inputs(declared: dict[str, Any] | None, inputs: dict[str, Any], used: list[str],
                 where: str) -> None:
    """Raise DomainError when an input in `used` falls outside the domain `declared` for it
    (`declared`: the reference's DOMAINS entry of the inputs function `where`; None: none stated,
    nothing to check)."""
    if declared is None:
        return
    problems = []
    for name in used:
        if name not in declared:
            problems.append(f"no domain is stated for {name}")
            continue
        problems += domain_problems(name, inputs[name], Domain.model_validate(declared[name]))
    if problems:
        raise DomainError(f"the grader's inputs from {where} are outside the assignment's domain: "
                          + "; ".join(problems))
