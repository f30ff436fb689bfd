"""Capture stage: at the end of a question's section, ask the kernel for that question's artifacts.

Takes the question's checks and a running `KernelSession`; returns, per check, the plain-data results
of its probe operations. The kernel's answer is validated here: a JSON file and a pickle-free NPZ, both
size-capped; arrays must be numeric; anything else is reported as an error result, never executed.
"""

from __future__ import annotations

import io
import json
import os
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks import registry
from grader.checks.base import OpResult, PlanContext
from grader.probes import FiguresOp, ProbeOp, Request
from grader.rubric import QuestionSpec
from grader.sandbox.kernel import KernelSession


@dataclass
class QuestionCapture:
    """Per check index: its probe results, the state plan() kept for score(), or a plan error."""

    results: dict[int, list[OpResult]] = field(default_factory=dict)
    figures: list[dict[str, Any]] = field(default_factory=list)  # what the section drew
    states: dict[int, dict[str, Any]] = field(default_factory=dict)
    plan_errors: dict[int, str] = field(default_factory=dict)
    planned: dict[int, int] = field(default_factory=dict)  # number of probe ops per check
    # what was asked, in dict form (probes.Request.to_dict: input keys, no data): plain data, since
    # captures are cached with their execution and plans compared when re-scoring
    ops: list[dict[str, Any]] = field(default_factory=list)
    capture_error: str = ""


class CaptureError(ValueError):
    """The kernel's answer was not acceptable plain data."""


def capture_question(question: QuestionSpec, ctx: PlanContext, session: KernelSession | None,
                     max_bytes: int) -> QuestionCapture:
    """Plan every check, run all their probe ops in one kernel round-trip, split the results."""
    capture = QuestionCapture()
    ops: dict[str, ProbeOp] = {}
    owners: dict[str, int] = {}
    for ci, check in enumerate(question.checks):
        check_type = registry[check.type]
        state: dict[str, Any] = {}
        try:
            params = check_type.Params.model_validate(check.params)
            planned = check_type.plan(params, ctx, state)
        except Exception as exc:  # noqa: BLE001  (an instructor-side problem: report, keep going)
            capture.plan_errors[ci] = f"the grader could not prepare this check: {exc}"
            continue
        capture.states[ci] = state
        capture.results[ci] = []
        capture.planned[ci] = len(planned)
        for oi, op in enumerate(planned):
            op_id = f"{ci}:{oi}"
            owners[op_id] = ci
            ops[op_id] = op
    ops["figures"] = FiguresOp()
    request = Request(ops, max_bytes)
    capture.ops = request.to_dict()["ops"]
    if session is None or not session.alive:
        reason = (session.dead_reason if session else "") or "the kernel is not running"
        capture.capture_error = reason
        return capture
    inputs_path = _write_inputs(ctx)
    try:
        answer = session.probe(replace(request, inputs=str(inputs_path) if inputs_path else None))
    finally:
        if inputs_path is not None:
            inputs_path.unlink(missing_ok=True)
    if isinstance(answer, str):
        capture.capture_error = answer
        return capture
    try:
        raw = read_probe_answer(*answer, max_bytes=max_bytes)
    except CaptureError as exc:
        capture.capture_error = str(exc)
        return capture
    finally:
        for p in answer:
            p.unlink(missing_ok=True)
    figures = raw.get("figures")
    if isinstance(figures, dict) and isinstance(figures.get("figures"), list):
        capture.figures = [f for f in figures["figures"] if isinstance(f, dict)]
    for op_id, ci in owners.items():
        item = raw.get(op_id)
        if not isinstance(item, dict):
            capture.results[ci].append(OpResult(False, {}, {"ename": "CaptureError",
                                                           "evalue": "no answer for this probe"}))
        elif item.get("ok"):
            capture.results[ci].append(OpResult(True, item))
        else:
            err = item.get("error") if isinstance(item.get("error"), dict) else {}
            capture.results[ci].append(OpResult(False, item, {k: str(v) for k, v in err.items()}))
    return capture


def _write_inputs(ctx: PlanContext) -> Path | None:
    if not ctx.inputs:
        return None
    path = ctx.io_dir / f"inputs_{ctx.question_id.replace('.', '_')}.npz"
    np.savez(path, **ctx.inputs)
    return path


def _read_no_follow(path: Path, max_bytes: int) -> bytes:
    """A regular file's bytes, refusing symlinks and oversize files (opened, then checked)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise CaptureError(f"the notebook's answer file {path.name} cannot be opened: "
                           f"{exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise CaptureError(f"the notebook's answer file {path.name} is not a regular file")
        if info.st_size > max_bytes:
            raise CaptureError(f"the notebook's answer is {info.st_size / 2**20:.0f} MB, over the "
                               f"{max_bytes / 2**20:.0f} MB capture limit")
        return fh.read(max_bytes + 1)


def read_probe_answer(json_path: Path, npz_path: Path, max_bytes: int) -> dict[str, Any]:
    """Load the kernel's JSON + NPZ answer as plain data; reject anything that is not."""
    raw_json = _read_no_follow(json_path, 64 * 2**20)
    raw_npz = _read_no_follow(npz_path, max_bytes + 2**20)
    try:
        tree = json.loads(raw_json.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CaptureError(f"the notebook's answer is not valid JSON: {exc}") from None
    try:
        with np.load(io.BytesIO(raw_npz), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:  # noqa: BLE001  (zip/format errors of many kinds)
        raise CaptureError(f"the notebook's array answer is unreadable: {exc}") from None
    for key, arr in arrays.items():
        if arr.dtype.kind not in "biufc":
            raise CaptureError(f"the notebook's answer has a non-numeric array ({key}: {arr.dtype})")
    if not isinstance(tree, dict):
        raise CaptureError("the notebook's answer is not a mapping")
    return resolve_arrays(tree, arrays)


def resolve_arrays(node: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The kernel's JSON tree with each `{"__array__": key}` replaced by that array."""
    if isinstance(node, dict):
        if set(node) == {"__array__"}:
            arr = arrays.get(node["__array__"])
            if arr is None:
                raise CaptureError("the notebook's answer refers to a missing array")
            return arr
        return {k: resolve_arrays(v, arrays) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_arrays(v, arrays) for v in node]
    return node
