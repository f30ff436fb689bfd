"""Checks on torch models: layer structure, behaviour with grader-chosen weights, trained weights.

The student's model never leaves the kernel. What comes back is its layer list, its parameters as
arrays, and its outputs on inputs the grader sent; the trusted reference recomputes from those.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from grader.checks.arrays import compare_arrays, shape_text
from grader.checks.base import CheckType, OpResult, Params, PlanContext, ScoreContext, Verdict
from grader.checks.domains import check_inputs
from grader.checks.fields import artifact_name, reference_function
from grader.checks.structure import match_layers, normalise
from grader.probes import (
    Arg,
    Construct,
    ForwardOp,
    LiteralArg,
    ModulesOp,
    ProbeOp,
    StructureOp,
    StudentArg,
    TupleArg,
    ValueOp,
)
from grader.secret import secret


class LayerSpec(Params):
    type: str | list[str] = Field(description="what the layer computes: Conv1d, Conv2d, ReLU, "
                                              "MaxPool1d, MaxPool2d, Flatten, Linear, ... (a list: "
                                              "alternatives); module or functional alike")
    attrs: dict[str, Any] = Field({}, description="hyper-parameters, compared by meaning (padding "
                                                  "per side, sizes as tuples; a list: "
                                                  "alternatives)")
    optional: bool = Field(False, description="may be missing")


def module_of(result: OpResult, name: str) -> tuple[dict | None, str]:
    if not result.ok:
        return None, result.failure_sentence(f"reading '{name}'")
    if result.data.get("kind") != "module":
        return None, f"'{name}' is a {result.data.get('type')}, not a torch model (nn.Module)"
    return result.data["module"], ""


class ModelSource(Params):
    artifact: str | None = artifact_name("a model in the namespace ...", None)
    cls: str | None = artifact_name("... or a class the grader instantiates", None)
    construct_args: list[Any] = Field([], description="the class's constructor arguments (a list "
                                                      "is passed as a tuple)")
    seed: int | None = Field(0, description="torch seed set before constructing `cls`")

    def describe(self) -> str:
        if self.cls:
            return f"{self.cls}({', '.join(map(repr, self.construct_args))})"
        return f"'{self.artifact}'"


class ForwardSource(ModelSource):
    """A model and the batch the grader runs it on."""

    inputs: str = reference_function("reference function returning the input batch (array)",
                                     args="inputs_args")
    inputs_args: list[Any] = Field([], description="positional arguments of `inputs`")


def construct_args(src: ModelSource) -> tuple[Arg, ...]:
    """The rubric's constructor arguments; a list (e.g. an input shape) is passed as a tuple."""
    return tuple(TupleArg(tuple(LiteralArg(x) for x in a)) if isinstance(a, list) else LiteralArg(a)
                 for a in src.construct_args)


def construct_op(src: ModelSource) -> Construct:
    return Construct(src.cls or "", construct_args(src), src.seed)


def model_batch(p: ForwardSource, ctx: PlanContext, hint: str) -> tuple[str, np.ndarray]:
    """`p.inputs`' batch as float32 (checked against the domain its reference states; DomainError
    when outside), registered as a grader input: its key and the array."""
    x = np.asarray(ctx.reference.call(p.inputs, *p.inputs_args), dtype=np.float32)
    check_inputs(ctx.reference.domains(p.inputs), {"batch": x}, ["batch"], p.inputs)
    return ctx.add_input(x, hint), x


def model_source(p: ModelSource) -> StudentArg | Construct:
    return construct_op(p) if p.cls else StudentArg(p.artifact or "")


def forward_op(p: ForwardSource, ctx: PlanContext, hint: str, **options: Any) -> tuple[ForwardOp, np.ndarray]:
    """A probe running the student's model (or a fresh `p.cls(...)`) on `p.inputs`' batch;
    `options` are ForwardOp's (e.g. random weights)."""
    key, x = model_batch(p, ctx, hint)
    return ForwardOp(model_source(p), key, **options), x


class ModuleLayers(CheckType):
    """The layers the model's forward pass computes, in order, are the specified ones, each
    attribute compared by its meaning (grader/checks/structure.py). With `proven_by` naming the
    question's behaviour check, a difference that check proves changes nothing (it passed with
    grader-chosen weights) costs nothing: the check passes with a note saying what differs."""

    name = "module_layers"

    class Params(ForwardSource):
        layers: list[LayerSpec] = Field(description="the layers in the order the forward pass "
                                                    "calls them")
        proven_by: str | None = Field(None, description="a module_behaviour check of the same "
                                                        "question, by name: when it passed, a "
                                                        "remaining difference is a 0-point note")

    def reads(self, p: Params) -> list[str]:
        return [p.proven_by] if p.proven_by else []

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        key, _ = model_batch(p, ctx, "structure")
        return [StructureOp(model_source(p), key)]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        result = results[0]
        if not result.ok:
            return Verdict.fail(result.failure_sentence(
                f"running {p.describe()} on the grader's inputs"))
        layers = normalise(result.data.get("calls") or [])
        arch = " → ".join(layer.sentence() for layer in layers) or "no layers"
        problems = match_layers(layers, p.layers)
        raised = result.data.get("forward_error")
        if isinstance(raised, dict):
            problems.append(f"its forward pass raised {raised.get('ename')}: "
                            f"{str(raised.get('evalue', ''))[:120]}")
        if not problems:
            return Verdict.ok(f"{p.describe()} computes the specified layers: {arch}")
        if p.proven_by and ctx.outcomes.get(p.proven_by):
            return Verdict.noted(
                f"{p.describe()} is written differently from the specification ("
                + "; ".join(problems[:3]) + f"), but '{p.proven_by}' proved with grader-chosen "
                "weights that it computes the specified network: no points lost")
        return Verdict.fail(f"{p.describe()}: " + "; ".join(problems[:4]) + f" (traced: {arch})")


class ModuleBehaviour(CheckType):
    """With grader-chosen weights loaded, the model computes what the reference architecture does."""

    name = "module_behaviour"

    class Params(ForwardSource):
        reference_forward: str = reference_function("reference function(params, inputs) -> "
                                                    "outputs", fixed=2)
        weights_seed: int = Field(1234, description="seed of the grader-chosen weights")
        weight_scale: float = Field(0.3, gt=0, description="their scale")
        atol: float = Field(1e-4, ge=0, description="absolute tolerance")
        rtol: float = Field(1e-4, ge=0, description="relative tolerance")

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        op, state["inputs"] = forward_op(p, ctx, "behaviour", random_weights_seed=p.weights_seed,
                                         random_scale=p.weight_scale)
        return [op]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        result = results[0]
        if not result.ok:
            return Verdict.fail(result.failure_sentence(
                f"running {p.describe()} on the grader's inputs"))
        params = [np.asarray(a) for a in result.data["params"]]
        got = np.asarray(result.data["output"])
        try:
            want = np.asarray(ctx.reference.call(p.reference_forward, params,
                                                 ctx.plan_state["inputs"], cache=False))
        except Exception as exc:  # noqa: BLE001  (the student's shapes don't fit the reference)
            shapes = ", ".join(shape_text(a.shape) for a in params)
            return Verdict.fail(f"{p.describe()}'s parameters [{shapes}] do not fit the specified "
                                f"architecture ({type(exc.__cause__ or exc).__name__})")
        ok, sentence = compare_arrays(got, want, p.atol, p.rtol)
        n = len(ctx.plan_state["inputs"])
        if ok:
            return Verdict.ok(f"with grader-chosen weights, {p.describe()} computes the reference "
                              f"architecture's outputs on {n} inputs ({sentence})")
        return Verdict.fail(f"with grader-chosen weights, {p.describe()}'s outputs on {n} inputs "
                            f"differ from the reference architecture's: {sentence}")


class ModuleOutputs(CheckType):
    """The model as the student built it (e.g. seeded, untrained) gives the reference outputs."""

    name = "module_outputs"

    class Params(ForwardSource):
        expected: str = reference_function("reference function(param_shapes) -> expected "
                                           "outputs", fixed=1)
        transform: str = Field("none", description="\"sigmoid\" or \"softmax\": applied to "
                                                   "both before comparing")
        atol: float = Field(5e-4, ge=0, description="absolute tolerance")
        rtol: float = Field(0.0, ge=0, description="relative tolerance")

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        op, _ = forward_op(p, ctx, "outputs")
        return [op, ValueOp(p.artifact or "", params=False)]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        forward, desc = results
        if not forward.ok:
            return Verdict.fail(forward.failure_sentence(f"running {p.describe()}"))
        summary, why = module_of(desc, p.artifact or "")
        if why:
            return Verdict.fail(why)
        try:
            want = np.asarray(ctx.reference.call(p.expected, summary["param_shapes"], cache=False))
        except Exception as exc:  # noqa: BLE001
            return Verdict.fail(f"{p.describe()} does not have the specified shape of parameters "
                                f"({exc.__cause__ or exc})")
        got = _transform(np.asarray(forward.data["output"], dtype=np.float64), p.transform)
        want = _transform(want.astype(np.float64), p.transform)
        ok, sentence = compare_arrays(got, want, p.atol, p.rtol)
        shown = ", ".join(f"{v:.3f}" for v in got.ravel()[:5])
        if ok:
            return Verdict.ok(f"{p.describe()} outputs {shown} as the reference does ({sentence})")
        ref_shown = ", ".join(f"{v:.3f}" for v in want.ravel()[:5])
        return Verdict.fail(f"{p.describe()} outputs {shown}"
                            f"{secret(f'; the reference gives {ref_shown}')} "
                            f"(was the model seeded as the handout says?)")


def _transform(a: np.ndarray, how: str) -> np.ndarray:
    if how == "sigmoid":
        return 1.0 / (1.0 + np.exp(-a))
    if how == "softmax":
        e = np.exp(a - a.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return a


class TrainedModule(CheckType):
    """Some model in the namespace, whatever its name, has the reference's trained weights / loss."""

    name = "trained_module"

    class Params(Params):
        reference: str = reference_function("reference function(*args) -> {\"params\": [...], "
                                            "\"final_loss\": float}", args="args")
        args: list[Any] = Field([], description="positional arguments of `reference`")
        loss: str | None = reference_function("reference function(params) -> loss of those "
                                              "weights", None, fixed=1)
        weight_atol: float = Field(1e-3, ge=0, description="largest weight difference accepted")
        loss_rtol: float = Field(0.05, ge=0, description="relative loss difference accepted")
        when_absent: str = Field("fail", description="\"pass\": no model of this shape at all "
                                                     "is acceptable ...")
        absent_requires: str | None = Field(None, description="... provided this other check "
                                                              "(by name) passed")
        absent_message: str = Field("", description="the sentence shown when absence passes")
        label: str = Field("trained model", description="how the report names the model")

    def reads(self, p: Params) -> list[str]:
        return [p.absent_requires] if p.absent_requires else []

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        return [ModulesOp()]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        result = results[0]
        if not result.ok:
            return Verdict.fail(result.failure_sentence("listing the notebook's models"))
        ref = ctx.reference.call(p.reference, *p.args)
        ref_params = [np.asarray(a) for a in ref["params"]]
        shapes = [list(a.shape) for a in ref_params]
        candidates = [m for m in result.data["modules"]
                      if m.get("param_shapes") == shapes and m.get("params") is not None]
        if not candidates:
            allowed = p.absent_requires is None or ctx.outcomes.get(p.absent_requires, False)
            if p.when_absent == "pass" and allowed:
                return Verdict.ok(p.absent_message or f"no {p.label} in the notebook (allowed)")
            if p.when_absent == "pass":
                return Verdict.fail(f"no {p.label} in the notebook; leaving it out is allowed only "
                                    f"when '{p.absent_requires}' passes")
            return Verdict.fail(f"no {p.label} found: no model in the notebook has parameters of "
                                f"shapes {', '.join(shape_text(s) for s in shapes)}")
        scored = []
        for m in candidates:
            params = [np.asarray(a, dtype=np.float64) for a in m["params"]]
            worst = max(float(np.abs(a - b).max()) for a, b in zip(params, ref_params))
            loss = (float(ctx.reference.call(p.loss, params, cache=False)) if p.loss else None)
            scored.append((worst, loss, m["name"]))
        worst, loss, name = min(scored)
        weights_ok = worst <= p.weight_atol
        ref_loss = ref.get("final_loss")
        loss_ok = loss is not None and ref_loss is not None and \
            abs(loss - ref_loss) <= p.loss_rtol * abs(ref_loss) + 1e-4
        loss_text = (f"loss {loss:.4f}{secret(f' (reference {ref_loss:.4f})')}"
                     if loss is not None else "")
        difference = secret(f" (largest difference {worst:.2g})")
        if weights_ok and (loss_ok or p.loss is None):
            return Verdict.ok(f"'{name}' is the {p.label}: weights match the reference"
                              f"{difference}; {loss_text}")
        if loss_ok:
            return Verdict(0.5, f"'{name}' reaches the reference's {loss_text} but its weights "
                                f"differ{difference}: half credit")
        tried = ", ".join(f"'{s[2]}'" for s in scored)
        return Verdict.fail(f"no {p.label} matches the reference: the closest, '{name}', has "
                            f"{loss_text} and weights that differ{difference} "
                            f"(models tried: {tried})")


class ModuleForwardShape(CheckType):
    """The model (or a freshly built instance of the student's class) maps a batch to the shape."""

    name = "module_forward_shape"

    class Params(ForwardSource):
        output_shape: list[int | None] = Field(description="expected output shape; null: the "
                                                           "batch size")

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        op, x = forward_op(p, ctx, "shape")
        state["n"] = len(x)
        return [op]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        r = results[0]
        if not r.ok:
            return Verdict.fail(r.failure_sentence(f"running {p.describe()} on a batch of images"))
        n = ctx.plan_state["n"]
        want = [n if s is None else s for s in p.output_shape]
        got = list(r.data.get("shape", []))
        if got != want:
            return Verdict.fail(f"{p.describe()} maps a batch of {n} images to shape "
                                f"{shape_text(got)}, expected {shape_text(want)}")
        return Verdict.ok(f"{p.describe()} maps a batch of {n} images to shape {shape_text(got)}")
