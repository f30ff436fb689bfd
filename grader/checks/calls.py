"""Checks that call the student's functions and classes (in the kernel) on grader-chosen inputs.

The inputs come from a reference function (seeded, deliberate edge cases); the same inputs go to the
reference implementation in the grader's process; only the student's return values come back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.arrays import as_array, compare_arrays, shape_text
from grader.checks.base import (
    CheckType,
    OpResult,
    Params,
    PlanContext,
    ScoreContext,
    Verdict,
    failed,
    passed,
    register,
    resolve_args,
)
from grader.probes import CallOp, LiteralArg, ProbeOp, Step


class OutputSpec(Params):
    index: int | None = None  # element of a returned tuple; None = the whole return value
    name: str = ""  # how the report calls this output
    dtype: str | None = None  # exact dtype required, e.g. "float32"
    atol: float = 1e-6
    rtol: float = 1e-6
    values: bool = True  # compare values with the reference (False: dtype/shape only)


class CallSpec(Params):
    function: str
    inputs: str | None = None  # reference function returning {name: array}
    inputs_args: list[Any] = []
    args: list[Any] = []
    seed: int | None = None  # np.random / torch seed set right before the call

    def call_text(self) -> str:
        shown = []
        for a in self.args:
            if isinstance(a, dict) and "student" in a:
                shown.append(a["student"])
            elif isinstance(a, dict) and "npz" in a:
                shown.append("<a grader-made .npz file>")
            elif isinstance(a, dict) and "literal" in a:
                shown.append(repr(a["literal"]))
            else:
                shown.append(str(a))
        return f"{self.function}({', '.join(shown)})"


def plan_call(p: CallSpec, ctx: PlanContext, state: dict[str, Any]) -> CallOp:
    inputs = ctx.reference.call(p.inputs, *p.inputs_args) if p.inputs else {}
    kernel_args, grader_args = resolve_args(p.args, ctx, inputs, p.function)
    state["inputs"] = inputs
    state["grader_args"] = grader_args
    return CallOp(p.function, tuple(kernel_args), seed=p.seed)


def _pick(value: Any, index: int | None) -> Any:
    if index is None:
        return value
    if not isinstance(value, (list, tuple)) or index >= len(value):
        raise IndexError(f"expected a tuple with at least {index + 1} elements")
    return value[index]


@register
class FunctionMatches(CheckType):
    """Calling the student's function gives the reference function's result on the same inputs."""

    name = "function_matches"

    class Params(CallSpec):
        expected: str | None = None  # reference function; default: the same name
        expected_args: list[Any] | None = None  # default: the same arguments
        outputs: list[OutputSpec] = [OutputSpec()]

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        op = plan_call(p, ctx, state)
        args = state["grader_args"]
        if p.expected_args is not None:
            args = [state["inputs"][a] if isinstance(a, str) else a for a in p.expected_args]
        # computed now: grader-made files exist only while the sandbox does
        state["expected"] = ctx.reference.call(p.expected or p.function, *args, cache=False)
        return [op]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        r = results[0]
        if not r.ok:
            return failed(r.failure_sentence(p.call_text()))
        got_all = r.data.get("result")
        want_all = ctx.plan_state["expected"]
        good, notes = 0, []
        for spec in p.outputs:
            label = spec.name or (f"output {spec.index}" if spec.index is not None else "result")
            try:
                got = as_array(_pick(got_all, spec.index))
                want = np.asarray(_pick(want_all, spec.index))
            except IndexError as exc:
                notes.append(f"{label}: {exc}")
                continue
            if got is None:
                notes.append(f"{label} is not a numeric array")
                continue
            if spec.dtype and str(got.dtype) != spec.dtype:
                notes.append(f"{label} has dtype {got.dtype}, expected {spec.dtype}")
                continue
            if spec.values:
                ok, sentence = compare_arrays(got, want, spec.atol, spec.rtol)
            else:
                ok = got.shape == want.shape
                sentence = f"shape {shape_text(got.shape)}" + ("" if ok else
                                                              f", expected {shape_text(want.shape)}")
            if ok:
                good += 1
                notes.append(f"{label} {shape_text(got.shape)} {got.dtype} {sentence}")
            else:
                notes.append(f"{label} {sentence}")
        fraction = good / len(p.outputs)
        verdict = "" if fraction == 1 else " — does not match the reference"
        return Verdict(fraction, f"{p.call_text()}{verdict}: " + "; ".join(notes))


@register
class FunctionMetric(CheckType):
    """Run the student's function (e.g. a training routine); a reference metric scores the result."""

    name = "function_metric"

    class Params(CallSpec):
        metric: str  # reference function(result, **inputs) -> float
        min: float | None = None
        max: float | None = None
        metric_name: str = "metric"

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        return [plan_call(p, ctx, state)]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        r = results[0]
        if not r.ok:
            return failed(r.failure_sentence(p.call_text()))
        try:
            value = float(ctx.reference.call(p.metric, r.data.get("result"),
                                             cache=False, **ctx.plan_state["inputs"]))
        except Exception as exc:  # noqa: BLE001  (the student's result has the wrong form)
            return failed(f"{p.call_text()} returned something unusable: {exc.__cause__ or exc}")
        bound = " and ".join(b for b in (f">= {p.min}" if p.min is not None else "",
                                         f"<= {p.max}" if p.max is not None else "") if b)
        ok = (p.min is None or value >= p.min) and (p.max is None or value <= p.max)
        text = f"{p.call_text()}: {p.metric_name} {value:.4g}, needs {bound}"
        return passed(text) if ok else failed(text)


@register
class NoMutation(CheckType):
    """The function leaves its array arguments unchanged (usually a 0-point note)."""

    name = "no_mutation"

    class Params(CallSpec):
        pass

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        return [plan_call(p, ctx, state)]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        r = results[0]
        if not r.ok:
            return failed(r.failure_sentence(p.call_text()))
        mutated = [i for i, m in enumerate(r.data.get("mutated_args", [])) if m]
        if mutated:
            which = ", ".join(str(p.args[i]) for i in mutated)
            return failed(f"{p.call_text()} modifies its argument {which} in place "
                          "(the caller's array changes)")
        return passed(f"{p.call_text()} leaves its arguments unchanged")


class StepSpec(Params):
    method: str
    args: list[Any] = []
    chain: bool = False  # the method returns the object to continue with (fit -> self)
    keep: bool = False  # this step's return value is the prediction to score


@register
class ClassPredictions(CheckType):
    """Instantiate the student's class, call its methods; predictions must be acceptable labels."""

    name = "class_predictions"

    class Params(Params):
        cls: str
        construct_args: list[Any] = []
        steps: list[StepSpec]
        inputs: str  # reference function -> {name: array}
        inputs_args: list[Any] = []
        acceptable: str  # reference function(*acceptable_args) -> list of sets of labels
        acceptable_args: list[str] = []
        forbidden_modules: list[str] = []  # library code that must not run during the calls

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        inputs = ctx.reference.call(p.inputs, *p.inputs_args)
        state["inputs"] = inputs
        steps = []
        for s in p.steps:
            kernel_args, _ = resolve_args(s.args, ctx, inputs, s.method)
            steps.append(Step(s.method, tuple(kernel_args), chain=s.chain, keep=s.keep))
        return [CallOp(p.cls, tuple(LiteralArg(a) for a in p.construct_args),
                       watch=tuple(p.forbidden_modules), steps=tuple(steps), result=False)]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        r = results[0]
        call = f"{p.cls}({', '.join(map(repr, p.construct_args))})." + \
            ".".join(f"{s.method}(...)" for s in p.steps)
        if not r.ok:
            return failed(r.failure_sentence(call))
        hits = r.data.get("forbidden_hits") or {}
        if hits:
            libraries = sorted({".".join(h.split(".")[:2]) for h in hits})
            return Verdict(0.0, f"{call} runs {', '.join(libraries)} code, which this "
                                "question forbids", voids_question=True)
        kept = [v for v, s in zip(r.data.get("steps", []), p.steps) if s.keep]
        pred = as_array(kept[0]) if kept else None
        inputs = ctx.plan_state["inputs"]
        acceptable = ctx.reference.call(p.acceptable, *[inputs[a] for a in p.acceptable_args],
                                        cache=False)
        if pred is None:
            return failed(f"{call} returned no array of predictions")
        pred = pred.ravel()
        if len(pred) != len(acceptable):
            return failed(f"{call} returned {len(pred)} predictions for {len(acceptable)} points")
        wrong = [i for i, (v, ok) in enumerate(zip(pred.tolist(), acceptable)) if v not in ok]
        ties = sum(1 for s in acceptable if len(s) > 1)
        if not wrong:
            return passed(f"{call}: all {len(pred)} predictions acceptable "
                          f"({ties} of them ties where any tied class is accepted)")
        i = wrong[0]
        return Verdict(0.0, f"{call}: {len(wrong)} of {len(pred)} predictions wrong (point {i}: "
                            f"predicted {pred[i]}, acceptable {sorted(acceptable[i])})")
