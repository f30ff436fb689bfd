"""Checks on what a section did as a whole: ran without error, drew figures, printed a trace."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from pydantic import Field

from grader.checks.base import CheckType, OpResult, Params, PlanContext, ScoreContext, Verdict
from grader.checks.fields import artifact_name, reference_function
from grader.checks.modules import module_of
from grader.probes import ProbeOp, ValueOp
from grader.secret import secret


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


class SectionRan(CheckType):
    """Every cell of the section ran without raising."""

    name = "section_ran"

    class Params(Params):
        pass

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        section = ctx.section
        if not section.executed:
            return Verdict.fail(f"the section did not run: {section.not_run_reason}")
        errors = section.student_errors
        if errors:
            e = errors[0]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            return Verdict.fail(f"cell {e.cell_index} raised {e.ename}: "
                                f"{first_line(e.evalue)}{more}")
        expected = len(section.errors) - len(errors)
        also = " (an unchanged handout cell raised as expected with the grading data)" \
            if expected else ""
        return Verdict.ok(f"the section's {len(section.cell_indices)} code cells ran without "
                          f"error{also}")


class Figures(CheckType):
    """The section drew figures: how many, with images, with N colour groups, with N panels."""

    name = "figures"

    class Params(Params):
        min_figures: int = Field(1, ge=0, description="figures the section must draw")
        min_image_axes: int = Field(0, ge=0, description="axes showing an image (imshow/matshow) "
                                                         "in one figure")
        color_groups: int | None = Field(None, description="a scatter-like axes with exactly this "
                                                           "many colour groups")
        panels_per_filter_of: str | None = artifact_name("model whose first layer's filter count "
                                                         "is the number of panels", None)
        description: str = Field("figure", description="what the figure shows, for messages")

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        if p.panels_per_filter_of:
            return [ValueOp(p.panels_per_filter_of, params=False)]
        return []

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        if not ctx.section.executed:
            return Verdict.fail(f"the section did not run: {ctx.section.not_run_reason}")
        figs = ctx.section.figure_summaries
        if len(figs) < p.min_figures:
            return Verdict.fail(f"the section drew {len(figs)} figure(s); at least {p.min_figures} "
                                f"{p.description} expected")
        if p.min_image_axes:
            best = max((f["image_axes"] for f in figs), default=0)
            if best < p.min_image_axes:
                return Verdict.fail(f"no figure shows {p.min_image_axes} or more images "
                                    f"(most in one figure: {best}); expected a {p.description}")
        if p.color_groups is not None:
            groups = [a["color_groups"] for f in figs for a in f["axes"] if a["collections"]]
            if p.color_groups not in groups:
                seen = ", ".join(map(str, groups)) or "no scatter plot"
                return Verdict.fail(f"expected a scatter plot with {p.color_groups} colour groups "
                                    f"(one per class); found: {seen}")
        if p.panels_per_filter_of:
            summary, why = module_of(results[0], p.panels_per_filter_of)
            if why:
                return Verdict.fail(why)
            filters = next((l["attrs"]["out_channels"] for l in summary["layers"]
                            if "out_channels" in l["attrs"]), None)
            if filters is None:
                return Verdict.fail(f"'{p.panels_per_filter_of}' has no convolution layer")
            panels = max((f["data_axes"] for f in figs), default=0)
            if panels < filters:
                return Verdict.fail(f"the first layer has {filters} filters but the largest figure "
                                    f"has {panels} panels")
            return Verdict.ok(f"a figure with {panels} panels for the {filters} first-layer "
                              f"filters")
        return Verdict.ok(f"{len(figs)} figure(s) drawn ({p.description})")


_DEFAULT_TRACE = r"[Ee]poch\D{0,20}?(\d+)\D+?(\d+\.\d+)"


class PrintedTrace(CheckType):
    """The loss trace the section printed matches the reference's (never worth points alone)."""

    name = "printed_trace"

    class Params(Params):
        expected: str = reference_function("reference function(*args) -> {\"trace\": [(epoch, "
                                           "loss), ...]}", args="args")
        args: list[Any] = Field([], description="positional arguments of `expected`")
        pattern: str = Field(_DEFAULT_TRACE, description="regular expression with two groups: "
                                                         "epoch and loss")
        atol: float = Field(6e-4, ge=0, description="absolute tolerance on each printed loss")

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        trace = ctx.reference.call(p.expected, *p.args)["trace"]
        want = {int(e): float(v) for e, v in trace}
        printed = [(int(m.group(1)), float(m.group(2)))
                   for m in re.finditer(p.pattern, ctx.section.stdout)]
        if not printed:
            return Verdict.fail("the section printed no loss trace (expected lines like "
                                f"'Epoch {trace[0][0]} had training loss "
                                f"{secret(f'{trace[0][1]:.4f}')}')")
        # several traces may be printed (3 and 4 filters): look for one run that matches
        runs: list[list[tuple[int, float]]] = [[]]
        for epoch, loss in printed:
            if runs[-1] and epoch <= runs[-1][-1][0]:
                runs.append([])
            runs[-1].append((epoch, loss))
        best = None
        for run in runs:
            common = [(e, v) for e, v in run if e in want]
            bad = [(e, v) for e, v in common if abs(v - want[e]) > p.atol]
            if common and not bad and len(common) == len(want):
                return Verdict.ok(f"the printed trace matches the reference at all {len(common)} "
                                  f"epochs{secret(f' (epoch {trace[-1][0]}: {trace[-1][1]:.4f})')}")
            key = (len(common) - len(bad), common, bad)
            if best is None or key[0] > best[0]:
                best = key
        _, common, bad = best
        if bad:
            e, v = bad[0]
            return Verdict.fail(f"printed loss {v:.4f} at epoch {e} differs from the reference"
                                f"{secret(f', which prints {want[e]:.4f}')}")
        return Verdict.fail(f"the printed trace covers {len(common)} of the {len(want)} "
                            f"reference epochs")


class ScalarRange(CheckType):
    """A captured number lies in a range (e.g. a final loss below a bound)."""

    name = "scalar_range"

    class Params(Params):
        artifact: str = artifact_name("the number's name")
        min: float | None = Field(None, description="lowest accepted value")
        max: float | None = Field(None, description="highest accepted value")

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        return [ValueOp(p.artifact)]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        r = results[0]
        if not r.ok:
            return Verdict.fail(r.failure_sentence(f"reading '{p.artifact}'"))
        try:
            v = float(np.asarray(r.data.get("value")).reshape(()))
        except (TypeError, ValueError):
            return Verdict.fail(f"'{p.artifact}' is not a single number")
        if (p.min is not None and v < p.min) or (p.max is not None and v > p.max):
            return Verdict.fail(f"'{p.artifact}' is {v:.4g}, expected within [{p.min}, {p.max}]")
        return Verdict.ok(f"'{p.artifact}' is {v:.4g}")
