"""Checks on captured values: equal to a reference value, or obeying a reference rule."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from grader.checks.base import CheckType, OpResult, Params, PlanContext, ScoreContext, Verdict
from grader.checks.fields import artifact_name, reference_function
from grader.probes import ProbeOp, ValueOp
from grader.secret import secret


def value_of(result: OpResult, name: str) -> tuple[Any, str]:
    """The captured value of an artifact, or (None, sentence why not)."""
    if not result.ok:
        return None, result.failure_sentence(f"reading '{name}'")
    data = result.data
    if data.get("kind") == "module":
        return None, f"'{name}' is a model, not an array"
    if data.get("kind") == "callable":
        return None, f"'{name}' is a function, not an array"
    value = data.get("value")
    if isinstance(value, dict) and "__unsupported__" in value:
        return None, f"'{name}' could not be captured: {value['__unsupported__']}"
    if isinstance(value, dict) and "__type__" in value:
        kind = value["__type__"]
        article = "an" if kind[:1].lower() in "aeiou" else "a"
        return None, f"'{name}' is {article} {kind}, not an array"
    return value, ""


def as_array(value: Any) -> np.ndarray | None:
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        return None
    return arr if arr.dtype.kind in "biufc" else None


def array_of(result: OpResult, name: str) -> tuple[np.ndarray | None, str]:
    """The captured artifact as a numeric array, or (None, sentence why not)."""
    value, why = value_of(result, name)
    if why:
        return None, why
    arr = as_array(value)
    if arr is None:
        return None, f"'{name}' is {type(value).__name__}, not a numeric array"
    return arr, ""


def arrays_of(names: list[str], results: list[OpResult]) -> tuple[dict[str, np.ndarray], str]:
    """Each named artifact as a numeric array, or ({}, the sentence about the first that is not)."""
    arrays = {}
    for name, result in zip(names, results):
        arr, why = array_of(result, name)
        if arr is None:
            return {}, why
        arrays[name] = arr
    return arrays, ""


def shape_text(shape: Any) -> str:
    return "(" + ", ".join(str(s) for s in shape) + (",)" if len(shape) == 1 else ")")


class ExpectedRef(Params):
    fn: str = reference_function("reference function giving the expected value (a dict result: "
                                 "{label: value} alternatives)", args="args", keywords="inputs")
    args: list[Any] = Field([], description="positional arguments of `fn`")
    inputs: list[str] = Field([], description="student artifacts passed to `fn` by name (e.g. "
                                              "their own digit_images)",
                              json_schema_extra={"artifact": True})
    index: int | None = Field(None, description="element of a tuple result")
    key: str | None = Field(None, description="entry of a dict result")
    label: str = Field("", description="how the report names this alternative, e.g. "
                                       "\"1/(N-1) convention\"")


def expected_value(ref: ExpectedRef, ctx: PlanContext | ScoreContext,
                   inputs: dict[str, np.ndarray] | None = None) -> Any:
    """The reference value; a dict result means {label: array} alternatives."""
    value = ctx.reference.call(ref.fn, *ref.args, cache=not ref.inputs, **(inputs or {}))
    if ref.index is not None:
        value = value[ref.index]
    if ref.key is not None:
        value = value[ref.key]
    return value if isinstance(value, dict) else np.asarray(value)


def compare_arrays(got: np.ndarray, want: np.ndarray, atol: float, rtol: float) -> tuple[bool, str]:
    """(equal within tolerance?, sentence with the largest difference)."""
    if got.shape != want.shape:
        if got.size == want.size and got.squeeze().shape == want.squeeze().shape:
            got = got.reshape(want.shape)
        elif got.size == want.size and got.ndim + want.ndim <= 6 and got.shape[0] == want.shape[0]:
            got = got.reshape(want.shape)  # (10, 784) against (10, 28, 28)
        else:
            return False, f"shape {shape_text(got.shape)}, expected {shape_text(want.shape)}"
    if got.size == 0:
        return True, "empty, as expected"
    if not np.all(np.isfinite(got.astype(np.float64, copy=False))):
        return False, "contains NaN or infinite values"
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    scale = atol + rtol * np.abs(want.astype(np.float64))
    worst = float(diff.max())
    if np.all(diff <= scale):
        return True, f"matches{secret(f' (largest difference {worst:.3g})')}"
    bad = int(np.count_nonzero(diff > scale))
    return False, (f"{bad:,} of {diff.size:,} values differ"
                   f"{secret(f' (largest difference {worst:.3g})')}")


def _distance(got: np.ndarray, want: np.ndarray) -> float:
    """Largest absolute difference, or infinity when the shapes cannot be compared."""
    if got.size != want.size:
        return float("inf")
    diff = np.abs(got.reshape(want.shape).astype(np.float64) - want.astype(np.float64))
    return float(np.nan_to_num(diff, nan=np.inf).max()) if diff.size else 0.0


class ValueMatches(CheckType):
    """An artifact equals a reference value (any of several accepted conventions or answers)."""

    name = "value_matches"

    class Params(Params):
        artifact: str | list[str] = artifact_name(
            "a name, or candidate names (the first that matches counts; `*section`: any name the "
            "section assigns)")
        expected: list[ExpectedRef] = Field(description="accepted values: a match with any one "
                                                        "passes")
        atol: float = Field(1e-6, ge=0, description="absolute tolerance")
        rtol: float = Field(1e-6, ge=0, description="relative tolerance")
        dtype_kind: str | None = Field(None, description="required numpy dtype kinds, e.g. "
                                                         "\"f\" (any float) or \"i\"")
        summary_rows: int | None = Field(None, gt=0, description="compare this many sampled rows "
                                                                 "and the column sums (huge "
                                                                 "arrays)")

    SECTION = "*section"  # every name the section's code assigns, most recent first
    CANDIDATE_BYTES = 64 * 2**20  # section names larger than this are not candidates

    @classmethod
    def names(cls, p: Any, assigned: list[str] | None = None) -> list[str]:
        names = [p.artifact] if isinstance(p.artifact, str) else list(p.artifact)
        out: list[str] = []
        for n in names:
            for m in (assigned or []) if n == cls.SECTION else [n]:
                if m not in out:
                    out.append(m)
        return out

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        inputs = sorted({n for ref in p.expected for n in ref.inputs})
        state["input_names"] = inputs
        names = self.names(p, ctx.assigned_names)
        state["names"] = names
        state["assigned"] = list(ctx.assigned_names)
        explicit = set(self.names(p))
        ops: list[ProbeOp] = [ValueOp(n) for n in inputs]
        rows = None
        if p.summary_rows and names:
            want = expected_value(p.expected[0], ctx)
            rng = np.random.default_rng(0)
            rows = sorted(rng.choice(len(want), size=min(p.summary_rows, len(want)),
                                     replace=False).tolist())
            state["rows"] = rows
        for name in names:
            ops.append(ValueOp(name, max_bytes=None if name in explicit else self.CANDIDATE_BYTES,
                               rows=None if rows is None else tuple(rows)))
        return ops

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        input_names = ctx.plan_state.get("input_names", [])
        inputs, why = arrays_of(input_names, results)
        if why:
            return Verdict.fail(why)
        sentences = []
        names = ctx.plan_state.get("names") or self.names(p)
        candidates = list(zip(names, results[len(input_names):]))
        explicit = set(self.names(p))
        present = [(n, r) for n, r in candidates if r.ok and (
            r.data.get("kind") in ("array", "summary")
            or (r.data.get("kind") == "value" and n in explicit))]
        if not present and candidates:
            wanted = " or ".join(f"'{n}'" for n in self.names(p) if n != self.SECTION)
            assigned = ctx.plan_state.get("assigned") or []
            return Verdict.fail(f"no {wanted or 'array'} found at the end of the section"
                          + (f" (names assigned there: {', '.join(assigned[:12])})"
                             if assigned else ""))
        for name, result in present or candidates[:1]:
            verdict = self._score_one(p, ctx, name, result, inputs)
            if verdict.passed or len(candidates) == 1:
                return verdict
            sentences.append(verdict.message)
        return Verdict.fail("; ".join(sentences))

    def _score_one(self, p: Params, ctx: ScoreContext, name: str, result: OpResult,
                   inputs: dict[str, np.ndarray]) -> Verdict:
        if p.summary_rows and result.ok and result.data.get("kind") == "summary":
            return self._score_summary(p, ctx, name, result)
        got, why = array_of(result, name)
        if got is None:
            return Verdict.fail(why)
        if p.dtype_kind and got.dtype.kind not in p.dtype_kind:
            return Verdict.fail(f"'{name}' has dtype {got.dtype}, expected a kind '{p.dtype_kind}'")
        sentences = []
        for ref in p.expected:
            try:
                want = expected_value(ref, ctx, {k: inputs[k] for k in ref.inputs})
            except Exception as exc:  # noqa: BLE001  (the student's inputs don't fit)
                return Verdict.fail(f"'{name}' cannot be checked: {exc.__cause__ or exc}")
            options = want.items() if isinstance(want, dict) else [(ref.label, want)]
            misses = []
            for label, w in options:
                w = np.asarray(w)
                ok, sentence = compare_arrays(got, w, p.atol, p.rtol)
                shown = secret(f" ({label})") if label else ""
                if ok:
                    return Verdict.ok(f"'{name}' {shape_text(got.shape)} {sentence}{shown}")
                misses.append((_distance(got, w), f"{sentence}{shown}"))
            sentences.append(min(misses)[1] if misses else "")
        return Verdict.fail(f"'{name}' does not match the reference: " + "; ".join(sentences))

    def _score_summary(self, p: Params, ctx: ScoreContext, name: str, result: OpResult) -> Verdict:
        data = result.data
        want = expected_value(p.expected[0], ctx)
        want2 = want.reshape(len(want), -1)
        if tuple(data.get("shape", ())) != tuple(want.shape):
            return Verdict.fail(f"'{name}' has shape {shape_text(data.get('shape', ()))}, "
                                f"expected {shape_text(want.shape)}")
        rows = np.asarray(data.get("rows"))
        ok_rows, s_rows = compare_arrays(rows, want2[ctx.plan_state["rows"]], p.atol, p.rtol)
        colsum = np.asarray(data.get("colsum"))
        ok_sum, s_sum = compare_arrays(colsum, want2.sum(0), p.atol * len(want2) + 1e-6, p.rtol)
        if ok_rows and ok_sum:
            return Verdict.ok(f"'{name}' {shape_text(want.shape)} matches the reference "
                              f"(sampled rows and column sums)")
        return Verdict.fail(f"'{name}' does not match the reference: sampled rows {s_rows}; "
                            f"column sums {s_sum}")


class Predicate(CheckType):
    """Artifacts obey a rule written in the reference module (a list of violations, empty = pass)."""

    name = "predicate"

    class Params(Params):
        artifacts: list[str] = artifact_name("artifacts passed to `fn` by name")
        fn: str = reference_function("reference function(**artifacts[, data]) -> list of "
                                     "violations (sentences); empty: the rule holds",
                                     keywords="artifacts")
        success: str = Field("follows the rule", description="the sentence shown when it passes")

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        return [ValueOp(a) for a in p.artifacts]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        values, why = arrays_of(p.artifacts, results)
        if why:
            return Verdict.fail(why)
        violations = ctx.reference.call(p.fn, cache=False, **values)
        names = ", ".join(f"'{a}'" for a in p.artifacts)
        if not violations:
            return Verdict.ok(f"{names} {p.success}")
        return Verdict.fail(f"{names}: " + "; ".join(violations[:5]))


class ArtifactShape(CheckType):
    """An artifact exists with the given shape (None = any size) and dtype kind."""

    name = "artifact_shape"

    class Params(Params):
        artifact: str = artifact_name("the array's name")
        shape: list[int | None] = Field(description="expected shape; null: any size on that axis")
        dtype_kind: str | None = Field(None, description="required numpy dtype kinds, e.g. \"f\"")

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        return [ValueOp(p.artifact, params=False, rows=(0,))]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        result = results[0]
        if not result.ok:
            return Verdict.fail(result.failure_sentence(f"reading '{p.artifact}'"))
        shape = result.data.get("shape")
        if shape is None:
            return Verdict.fail(f"'{p.artifact}' is a {result.data.get('type')}, not an array")
        want = shape_text([s if s is not None else "N" for s in p.shape])
        if len(shape) != len(p.shape) or any(w is not None and w != g
                                             for w, g in zip(p.shape, shape)):
            return Verdict.fail(f"'{p.artifact}' has shape {shape_text(shape)}, expected {want}")
        dtype = str(result.data.get("dtype", ""))
        if p.dtype_kind and np.dtype(dtype).kind not in p.dtype_kind:
            return Verdict.fail(f"'{p.artifact}' has dtype {dtype}")
        return Verdict.ok(f"'{p.artifact}' has shape {shape_text(shape)} ({dtype})")
