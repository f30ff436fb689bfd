"""Checks that call the student's functions and classes (in the kernel) on grader-chosen inputs.

The inputs come from a reference function (seeded, deliberate edge cases); the same inputs go to the
reference implementation in the grader's process; only the student's return values come back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from grader.checks.arrays import as_array, compare_arrays, shape_text
from grader.checks.base import CheckType, OpResult, Params, PlanContext, ScoreContext, Verdict
from grader.checks.domains import check_inputs, describe
from grader.checks.fields import artifact_name, reference_function
from grader.probes import Arg, CallOp, FileArg, InputArg, LiteralArg, ProbeOp, Step, StudentArg
from grader.secret import secret


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


def input_names(specs: list[Any]) -> list[str]:
    """The names of the grader's inputs that rubric argument specs pass (directly or in a file)."""
    names: list[str] = []
    for spec in specs:
        if isinstance(spec, str):
            names.append(spec)
        elif isinstance(spec, dict) and "npz" in spec:
            names += list(spec["npz"].values())
    return list(dict.fromkeys(names))


def checked_inputs(ctx: PlanContext, fn: str | None, args: list[Any], state: dict[str, Any],
                   *inputs_args: Any) -> dict[str, Any]:
    """The inputs reference function `fn` makes, checked against the domain it states for those
    the call passes (DomainError when outside: the grader's problem); `state["sampled"]` says what
    they are, for reports."""
    inputs = ctx.reference.call(fn, *inputs_args) if fn else {}
    used = input_names(args)
    if fn:
        check_inputs(ctx.reference.domains(fn), inputs, used, fn)
    state["inputs"] = inputs
    state["sampled"] = ", ".join(describe(n, inputs[n]) for n in used if n in inputs)
    return inputs


def raised_on(r: OpResult, call: str, state: dict[str, Any]) -> str:
    """'f(x) raised E: why (on x float64 (600, 784) in [0, 1])': the input that made it raise."""
    sampled = state.get("sampled")
    return r.failure_sentence(call) + (f" (on {sampled})" if sampled else "")


def forbidden_verdict(call: str, hits: dict[str, int]) -> Verdict | None:
    """The void verdict when the call ran code of a library the question forbids."""
    if not hits:
        return None
    libraries = sorted({".".join(h.split(".")[:2]) for h in hits})
    return Verdict(0.0, f"{call} runs {', '.join(libraries)} code, which this question forbids",
                   voids_question=True)


class OutputSpec(Params):
    index: int | None = Field(None, description="element of a returned tuple; null: the whole "
                                                "return value")
    name: str = Field("", description="how the report calls this output")
    dtype: str | None = Field(None, description="exact dtype required, e.g. \"float32\"")
    atol: float = Field(1e-6, ge=0, description="absolute tolerance")
    rtol: float = Field(1e-6, ge=0, description="relative tolerance")
    values: bool = Field(True, description="compare values with the reference (false: dtype and "
                                           "shape only)")


class CallSpec(Params):
    function: str = artifact_name("the student's function")
    inputs: str | None = reference_function("reference function returning {name: array}: the "
                                            "grader's inputs", None, args="inputs_args")
    inputs_args: list[Any] = Field([], description="positional arguments of `inputs`")
    args: list[Any] = Field([], description="the call's arguments: a name from `inputs`, "
                                            "{student: NAME} (the student's own object; the "
                                            "reference gets its function NAME), {literal: V}, or "
                                            "{npz: {KEY: INPUT}} (a file's path)")
    seed: int | None = Field(None, description="np.random / torch seed set right before the call")

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
    inputs = checked_inputs(ctx, p.inputs, p.args, state, *p.inputs_args)
    kernel_args, grader_args = resolve_args(p.args, ctx, inputs, p.function)
    state["grader_args"] = grader_args
    return CallOp(p.function, tuple(kernel_args), seed=p.seed)


def _pick(value: Any, index: int | None) -> Any:
    if index is None:
        return value
    if not isinstance(value, (list, tuple)) or index >= len(value):
        raise IndexError(f"expected a tuple with at least {index + 1} elements")
    return value[index]


class CallCheck(CheckType):
    """A check that calls the student's function once (`plan_call`) and scores what it returned:
    a call that raised fails with the exception; otherwise `score_call` decides."""

    def plan(self, p: Any, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        return [plan_call(p, ctx, state)]

    def score(self, p: Any, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        r = results[0]
        if not r.ok:
            return Verdict.fail(raised_on(r, p.call_text(), ctx.plan_state))
        return self.score_call(p, ctx, r.data)

    def score_call(self, p: Any, ctx: ScoreContext, answer: dict[str, Any]) -> Verdict:
        raise NotImplementedError


class FunctionMatches(CallCheck):
    """Calling the student's function gives the reference function's result on the same inputs."""

    name = "function_matches"

    class Params(CallSpec):
        expected: str | None = reference_function(
            "reference function giving the expected result (default: the one named `function`)",
            None, args=["expected_args", "args"], default_from="function")
        expected_args: list[Any] | None = Field(None, description="its arguments (default: the "
                                                                  "same as the student's)")
        outputs: list[OutputSpec] = Field([OutputSpec()], description="what to compare, per "
                                                                      "output")

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        op = plan_call(p, ctx, state)
        args = state["grader_args"]
        if p.expected_args is not None:
            args = [state["inputs"][a] if isinstance(a, str) else a for a in p.expected_args]
        # computed now: grader-made files exist only while the sandbox does
        state["expected"] = ctx.reference.call(p.expected or p.function, *args, cache=False)
        return [op]

    def score_call(self, p: Params, ctx: ScoreContext, answer: dict[str, Any]) -> Verdict:
        got_all = answer.get("result")
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


class FunctionMetric(CallCheck):
    """Run the student's function (e.g. a training routine); a reference metric scores the result."""

    name = "function_metric"

    class Params(CallSpec):
        metric: str = reference_function("reference function(result, **inputs) -> a number",
                                         fixed=1, any_keywords=True)
        min: float | None = Field(None, description="lowest passing value")
        max: float | None = Field(None, description="highest passing value")
        metric_name: str = Field("metric", description="how the report names the number")

    def score_call(self, p: Params, ctx: ScoreContext, answer: dict[str, Any]) -> Verdict:
        try:
            value = float(ctx.reference.call(p.metric, answer.get("result"),
                                             cache=False, **ctx.plan_state["inputs"]))
        except Exception as exc:  # noqa: BLE001  (the student's result has the wrong form)
            return Verdict.fail(f"{p.call_text()} returned something unusable: "
                                f"{exc.__cause__ or exc}")
        bound = " and ".join(b for b in (f">= {p.min}" if p.min is not None else "",
                                         f"<= {p.max}" if p.max is not None else "") if b)
        ok = (p.min is None or value >= p.min) and (p.max is None or value <= p.max)
        text = f"{p.call_text()}: {p.metric_name} {value:.4g}, needs {bound}"
        return Verdict.ok(text) if ok else Verdict.fail(text)


class NoMutation(CallCheck):
    """The function leaves its array arguments unchanged (usually a 0-point note)."""

    name = "no_mutation"

    class Params(CallSpec):
        pass

    def score_call(self, p: Params, ctx: ScoreContext, answer: dict[str, Any]) -> Verdict:
        mutated = [i for i, m in enumerate(answer.get("mutated_args", [])) if m]
        if mutated:
            which = ", ".join(str(p.args[i]) for i in mutated)
            return Verdict.fail(f"{p.call_text()} modifies its argument {which} in place "
                                "(the caller's array changes)")
        return Verdict.ok(f"{p.call_text()} leaves its arguments unchanged")


class StepSpec(Params):
    method: str = Field(description="the method called")
    args: list[Any] = Field([], description="its arguments (as a call's `args`)")
    chain: bool = Field(False, description="the method returns the object to continue with "
                                           "(fit -> self)")
    keep: bool = Field(False, description="this step's return value is the prediction to score")


class StepsSpec(Params):
    """Instantiate the student's class and call its methods on grader inputs."""

    cls: str = artifact_name("the student's class")
    construct_args: list[Any] = Field([], description="its constructor's arguments")
    steps: list[StepSpec] = Field(description="methods called in order")
    inputs: str = reference_function("reference function -> {name: array}: the grader's inputs",
                                     args="inputs_args")
    inputs_args: list[Any] = Field([], description="positional arguments of `inputs`")
    forbidden_modules: list[str] = Field([], description="library modules whose code must not "
                                                         "run during the calls")

    def call_text(self) -> str:
        return f"{self.cls}({', '.join(map(repr, self.construct_args))})." + \
            ".".join(f"{s.method}(...)" for s in self.steps)


def plan_steps(p: StepsSpec, ctx: PlanContext, state: dict[str, Any],
               extra: dict[str, np.ndarray] | None = None) -> CallOp:
    """The call of `p.cls(*construct_args)` and its steps; `extra` inputs join the reference's."""
    extra = extra or {}
    passed = [a for s in p.steps for a in s.args if not (isinstance(a, str) and a in extra)]
    inputs = {**checked_inputs(ctx, p.inputs, passed, state, *p.inputs_args), **extra}
    steps = []
    for s in p.steps:
        kernel_args, _ = resolve_args(s.args, ctx, inputs, s.method)
        steps.append(Step(s.method, tuple(kernel_args), chain=s.chain, keep=s.keep))
    return CallOp(p.cls, tuple(LiteralArg(a) for a in p.construct_args),
                  watch=tuple(p.forbidden_modules), steps=tuple(steps), result=False)


def kept_prediction(p: StepsSpec, r: OpResult) -> np.ndarray | None:
    """The value of the first step marked `keep`, as a flat array (None when there is none)."""
    kept = [v for v, s in zip(r.data.get("steps", []), p.steps) if s.keep]
    pred = as_array(kept[0]) if kept else None
    return None if pred is None else pred.ravel()


class ClassPredictions(CheckType):
    """Instantiate the student's class, call its methods; predictions must be acceptable labels."""

    name = "class_predictions"

    class Params(StepsSpec):
        acceptable: str = reference_function("reference function(*acceptable_args) -> one set of "
                                             "acceptable labels per point",
                                             args="acceptable_args")
        acceptable_args: list[str] = Field([], description="names from `inputs` passed to "
                                                           "`acceptable`")

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        return [plan_steps(p, ctx, state)]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        r = results[0]
        call = p.call_text()
        if not r.ok:
            return Verdict.fail(raised_on(r, call, ctx.plan_state))
        voided = forbidden_verdict(call, r.data.get("forbidden_hits") or {})
        if voided:
            return voided
        pred = kept_prediction(p, r)
        inputs = ctx.plan_state["inputs"]
        acceptable = ctx.reference.call(p.acceptable, *[inputs[a] for a in p.acceptable_args],
                                        cache=False)
        if pred is None:
            return Verdict.fail(f"{call} returned no array of predictions")
        if len(pred) != len(acceptable):
            return Verdict.fail(f"{call} returned {len(pred)} predictions for {len(acceptable)} "
                                f"points")
        wrong = [i for i, (v, ok) in enumerate(zip(pred.tolist(), acceptable)) if v not in ok]
        ties = sum(1 for s in acceptable if len(s) > 1)
        if not wrong:
            return Verdict.ok(f"{call}: all {len(pred)} predictions acceptable "
                              f"({ties} of them ties where any tied class is accepted)")
        i = wrong[0]
        return Verdict(0.0, f"{call}: {len(wrong)} of {len(pred)} predictions wrong (point {i}: "
                            f"predicted {pred[i]}{secret(f', acceptable {sorted(acceptable[i])}')})")
