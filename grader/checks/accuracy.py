"""Accuracy on the hidden held-out split, computed by the grader from predictions.

The kernel receives the held-out images only (never their labels) at capture time, after the section
has run, and returns predictions; or, for models that are plain arrays (softmax regression's W, b),
the grader predicts itself. Thresholds written for full MNIST apply as written on full MNIST; on any
other data they are calibrated against the reference trained on the same data, and the report says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from grader.checks.arrays import arrays_of
from grader.checks.base import CheckType, OpResult, Params, PlanContext, ScoreContext, Verdict
from grader.checks.fields import artifact_name, reference_function
from grader.probes import Candidates, ForwardOp, ProbeOp, ValueOp


class Calibration(Params):
    reference: str = reference_function("reference function(data) -> the reference's accuracy on "
                                        "the held-out split")
    margin: float = Field(0.03, ge=0, lt=1, description="how far below the reference a correct "
                                                        "answer may land (seed noise)")


class Tier(Params):
    min: float = Field(ge=0, le=1, description="accuracy at or above this ...")
    fraction: float = Field(gt=0, lt=1, description="... earns this share of the points (below "
                                                    "the main threshold)")


def input_batch(images: np.ndarray, layout: str) -> np.ndarray:
    x = images.astype(np.float32) / 255.0
    if layout == "nchw":
        return x[:, None, :, :]
    if layout == "flat":
        return x.reshape(len(x), -1)
    raise ValueError(f"unknown input layout '{layout}' (nchw, flat)")


def required_accuracy(p: Any, ctx: ScoreContext) -> tuple[float, str]:
    """The threshold in force on this data, and the sentence explaining it."""
    if ctx.data.full_mnist or p.calibrate is None:
        return p.threshold, f"needs >= {p.threshold:.3f}"
    ref = float(ctx.reference.call(p.calibrate.reference))
    need = ref - p.calibrate.margin
    return need, (f"needs >= {need:.3f} (calibrated on this data: reference {ref:.3f} − "
                  f"{p.calibrate.margin:g}; the full-MNIST threshold is {p.threshold:.3f})")


class HeldOutAccuracy(CheckType):
    """Accuracy of the student's trained model on the hidden split, against a threshold."""

    name = "heldout_accuracy"

    class Params(Params):
        source: str = Field("model", description="\"model\": a torch model predicts; "
                                                 "\"weights\": `predict` does, from artifacts")
        models: list[str] = Field(["model", "*"], description="preferred model names; \"*\": any "
                                                              "model of the right shape")
        layout: str = Field("nchw", description="how images are fed: \"nchw\" or \"flat\"")
        classes: int = Field(10, gt=0, description="number of class scores the model outputs")
        weights: list[str] = artifact_name("for source \"weights\": artifacts passed to "
                                           "`predict`", [])
        predict: str | None = reference_function("reference function(*weights, images) -> labels",
                                                  None, args="weights", fixed=1)
        threshold: float = Field(ge=0, le=1, description="accuracy needed on full MNIST")
        calibrate: Calibration | None = Field(None, description="on other data, the threshold is "
                                                                "the reference's accuracy minus "
                                                                "`margin`")
        tiers: list[Tier] = Field([], description="partial credit below the threshold")

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        if p.source == "weights":
            return [ValueOp(w) for w in p.weights]
        key = ctx.add_input(input_batch(ctx.data.hidden.images, p.layout), "heldout")
        return [ForwardOp(Candidates(tuple(p.models), width=p.classes), key)]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        labels = ctx.data.hidden.labels
        if p.source == "weights":
            weights, why = arrays_of(p.weights, results)
            if why:
                return Verdict.fail(why)
            try:
                pred = np.asarray(ctx.reference.call(p.predict, *weights.values(),
                                                     ctx.data.hidden.images,
                                                     cache=False))
            except Exception as exc:  # noqa: BLE001
                return Verdict.fail(f"{', '.join(p.weights)} cannot make predictions: "
                                    f"{exc.__cause__ or exc}")
            who = " and ".join(f"'{w}'" for w in p.weights)
        else:
            r = results[0]
            if not r.ok:
                return Verdict.fail(r.failure_sentence("predicting the held-out images"))
            usable = [c for c in r.data.get("candidates", []) if "output" in c]
            if not usable:
                errs = [c for c in r.data.get("candidates", []) if "error" in c]
                extra = f": '{errs[0]['name']}' raised {errs[0]['error']['ename']}" if errs else ""
                return Verdict.fail(f"no trained model in the notebook maps a batch of images to "
                                    f"{p.classes} class scores{extra}")
            best = max(usable, key=lambda c: float(np.mean(np.asarray(c["output"]) == labels)))
            pred, who = np.asarray(best["output"]), f"'{best['name']}'"
        if pred.shape != labels.shape:
            return Verdict.fail(f"{who} gave {pred.size} predictions for {labels.size} images")
        acc = float(np.mean(pred == labels))
        need, rule = required_accuracy(p, ctx)
        text = (f"{who}: accuracy {acc:.3f} on {labels.size:,} held-out images "
                f"({ctx.data.profile}), {rule}")
        if acc >= need:
            return Verdict(1.0, text)
        for tier in sorted(p.tiers, key=lambda t: -t.min):
            tier_need = tier.min if ctx.data.full_mnist else need - (p.threshold - tier.min)
            if acc >= tier_need:
                return Verdict(tier.fraction, f"{text}; partial credit for >= {tier_need:.3f}")
        return Verdict(0.0, text)
