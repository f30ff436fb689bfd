"""Accuracy on the hidden held-out split, computed by the grader from predictions.

The kernel receives the held-out images only (never their labels) at capture time, after the section
has run, and returns predictions: from a trained torch model in the namespace, or from the student's
class fitted on the provisioned training data and asked to predict the held-out images in the form the
assignment gives them (`source: call`, e.g. hw2's KNN on uint8 pixels as loaded); or, for models that
are plain arrays (softmax regression's W, b), the grader predicts itself. Thresholds written for full
MNIST apply as written on full MNIST; on any other data they are calibrated against the reference
trained on the same data with several seeds: the threshold is the lowest seed's accuracy minus the
rubric's margin, and the report shows every seed's accuracy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from grader.checks.arrays import arrays_of
from grader.checks.base import CheckType, OpResult, Params, PlanContext, ScoreContext, Verdict
from grader.checks.calls import StepsSpec, forbidden_verdict, kept_prediction, plan_steps, raised_on
from grader.checks.fields import artifact_name, reference_function
from grader.expected import Reference
from grader.probes import Candidates, ForwardOp, ProbeOp, ValueOp
from grader.secret import secret


class Calibration(Params):
    reference: str = reference_function("reference function(*args, [seed], data) -> the "
                                        "reference's accuracy on the held-out split",
                                        args="args", any_keywords=True)
    args: list[Any] = Field([], description="arguments of `reference` before the seed")
    seeds: int = Field(3, ge=1, description="the reference is trained with seeds 0..seeds-1 (1: a "
                                            "deterministic reference, called without a seed)")
    margin: float = Field(0.03, ge=0, lt=1, description="how far below the lowest seed's accuracy "
                                                        "a correct answer may land (seed noise)")


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
    if layout == "flat_uint8":  # the pixels as loaded, as hw2's KNN gets them
        return images.reshape(len(images), -1)
    raise ValueError(f"unknown input layout '{layout}' (nchw, flat, flat_uint8)")


def reference_accuracies(calibration: Calibration, reference: Reference) -> list[float]:
    """The reference's held-out accuracy on its data, once per seed (each cached on disk)."""
    if calibration.seeds <= 1:
        return [float(reference.call(calibration.reference, *calibration.args))]
    return [float(reference.call(calibration.reference, *calibration.args, seed=seed))
            for seed in range(calibration.seeds)]


def calibrate_all(questions: list[Any], reference: Reference) -> None:
    """Compute (and cache) every calibration the questions' accuracy checks will ask for: run
    once before grading a class, so that parallel workers do not each train the reference."""
    for question in questions:
        for check in question.checks:
            if check.type == HeldOutAccuracy.name and check.params.get("calibrate"):
                reference_accuracies(Calibration.model_validate(check.params["calibrate"]),
                                     reference)


def required_accuracy(p: Any, ctx: ScoreContext) -> tuple[float, str]:
    """The threshold in force on this data, and the sentence explaining it.

    Calibrated, it is the lowest of the reference's seeds minus the margin: a correct student's
    run is one more draw of the same training, below the lowest of n earlier draws with
    probability 1/(n+1), and the margin covers that shortfall; the minimum, unlike the mean or
    one seed, never lets a lucky seed raise the bar."""
    if ctx.data.full_mnist or p.calibrate is None:
        return p.threshold, f"needs >= {p.threshold:.3f}"
    accs = reference_accuracies(p.calibrate, ctx.reference)
    need = min(accs) - p.calibrate.margin
    runs = (f"over {len(accs)} seeds {', '.join(f'{a:.3f}' for a in accs)} (spread "
            f"{max(accs) - min(accs):.3f}), lowest {min(accs):.3f}" if len(accs) > 1
            else f"{accs[0]:.3f}")
    return need, (f"needs >= {need:.3f}" + secret(
        f" (calibrated on this data: reference {runs} − {p.calibrate.margin:g}; the full-MNIST "
        f"threshold is {p.threshold:.3f})"))


class HeldOutAccuracy(CheckType):
    """Accuracy of the student's trained model on the hidden split, against a threshold."""

    name = "heldout_accuracy"

    class Params(Params):
        source: str = Field("model", description="\"model\": a torch model predicts; "
                                                 "\"weights\": `predict` does, from artifacts; "
                                                 "\"call\": the student's class (`call`)")
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
        call: StepsSpec | None = Field(None, description="for source \"call\": the student's "
                                                         "class fits and predicts; a step argument "
                                                         "`heldout_X` is the held-out images")
        limit: int | None = Field(None, gt=0, description="only the first `limit` held-out images")

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        if p.source == "weights":
            return [ValueOp(w) for w in p.weights]
        images = ctx.data.hidden.images[:p.limit]
        if p.source == "call" and p.call is not None:
            return [plan_steps(p.call, ctx, state, {"heldout_X": input_batch(images, p.layout)})]
        key = ctx.add_input(input_batch(images, p.layout), "heldout")
        return [ForwardOp(Candidates(tuple(p.models), width=p.classes), key)]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        labels = ctx.data.hidden.labels[:p.limit]
        if p.source == "call" and p.call is not None:
            r, call = results[0], p.call.call_text()
            if not r.ok:
                return Verdict.fail(raised_on(r, call, ctx.plan_state))
            voided = forbidden_verdict(call, r.data.get("forbidden_hits") or {})
            if voided:
                return voided
            pred, who = kept_prediction(p.call, r), call
            if pred is None:
                return Verdict.fail(f"{call} returned no array of predictions")
        elif p.source == "weights":
            weights, why = arrays_of(p.weights, results)
            if why:
                return Verdict.fail(why)
            try:
                pred = np.asarray(ctx.reference.call(p.predict, *weights.values(),
                                                     ctx.data.hidden.images[:p.limit],
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
