"""Semantic validation of a rubric that needs no notebook: a typed `Rubric` (and its reference
module) -> the list of `Problem`s, each at the file:line:column of the field at fault.

What it checks, beyond the schema (rubric.py): question ids unique; a question's points are its
checks' and manual part's; `requires` names an earlier check of the question; check names unique in a
question; the reference module loads, every reference function a check names exists and accepts the
arguments the check passes (`reference_function` markers on the check types' parameters, and
`{student: NAME}` arguments); accuracies and margins in range (a margin below its threshold, tiers
below it, `min` <= `max`); every data file and folder exists; the data writer exists.

`load_assignment` (assignment.py) refuses a rubric with any problem before anyone is graded; what
needs the instructor's solution notebook (headings, artifacts, full marks) is solution.py's.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from grader.checks import registry
from grader.checks.fields import marked_fields
from grader.expected import (
    ReferenceError_,
    is_module_path,
    load_reference_module,
    reference_file,
    reference_label,
)
from grader.rubric import CheckSpec, QuestionSpec, Rubric, check_label
from grader.rubric_source import Problem, SourceMap, did_you_mean


@dataclass
class StaticReport:
    """What static validation found: problems, and what it checked (for `grade validate`)."""

    problems: list[Problem] = field(default_factory=list)
    functions: set[str] = field(default_factory=set)  # reference functions the rubric names
    module: ModuleType | None = None


def rubric_folder(rubric: Rubric) -> Path:
    """The rubric file's real folder: relative data paths start there."""
    return Path(rubric.folder) if rubric.folder else Path(rubric.source_path).resolve().parent


def validate_rubric(rubric: Rubric) -> StaticReport:
    """Every problem of the rubric that shows without a notebook (see the module docstring)."""
    report = StaticReport()
    source = rubric.source
    report.problems += _question_ids(rubric, source)
    for qi, q in enumerate(rubric.questions):
        report.problems += _question_problems(q, ("questions", qi), source)
    try:
        report.module = load_reference_module(rubric.reference)
    except ReferenceError_ as exc:
        report.problems.append(source.problem(("reference",), f"reference: {exc}"
                                              f"{_reference_hint(rubric.reference)}"))
    if report.module is not None:
        report.problems += _reference_problems(rubric, report)
    report.problems += _data_problems(rubric, source)
    report.problems.sort()
    return report


def _reference_hint(locator: str) -> str:
    """For a module that is not there: the closest existing one."""
    path = reference_file(locator)
    if path.exists() or not path.parent.is_dir():
        return ""
    modules = [p.name if is_module_path(locator) else p.stem for p in path.parent.glob("*.py")
               if not p.name.startswith("_")]
    return did_you_mean(path.name if is_module_path(locator) else path.stem, modules)


def _question_ids(rubric: Rubric, source: SourceMap) -> list[Problem]:
    problems, first = [], {}
    for qi, q in enumerate(rubric.questions):
        if q.id in first:
            problems.append(source.problem(("questions", qi, "id"), (
                f"question id {q.id} appears twice (first at line "
                f"{source.mark(('questions', first[q.id], 'id')).line})")))
        first.setdefault(q.id, qi)
    headings: dict[str, int] = {}
    for qi, q in enumerate(rubric.questions):
        key = " ".join(q.heading.lower().split())
        if key in headings:
            other = rubric.questions[headings[key]].id
            problems.append(source.problem(("questions", qi, "heading"), (
                f"question {q.id}: heading '{q.heading}' is also question {other}'s: each "
                "question's section needs its own heading")))
        headings.setdefault(key, qi)
    return problems


def _question_problems(q: QuestionSpec, loc: tuple, source: SourceMap) -> list[Problem]:
    problems = []
    total = q.auto_points + (q.manual.points if q.manual else 0)
    if abs(total - q.points) > 1e-9:
        parts = " + ".join(f"{c.points:g}" for c in q.checks) or "no checks"
        manual = f" + manual {q.manual.points:g}" if q.manual else ""
        problems.append(source.problem((*loc, "points"), (
            f"question {q.id}: points is {q.points:g} but its checks{' and manual part' if manual else ''}"
            f" add up to {total:g} ({parts}{manual})")))
    seen: dict[str, int] = {}
    for ci, c in enumerate(q.checks):
        cloc = (*loc, "checks", ci)
        if c.label in seen and c.name:
            problems.append(source.problem((*cloc, "name"), (
                f"question {q.id}: two checks are named '{c.label}' (checks {seen[c.label] + 1} "
                f"and {ci + 1}); `requires` and reports tell checks apart by name")))
        for ri, required in enumerate(c.requires):
            problems += _requires_problem(q, ci, c, required, (*cloc, "requires", ri), source,
                                          seen)
        seen.setdefault(c.label, ci)
        problems += _range_problems(check_label(q.id, ci, c.name, c.type), c, cloc, source)
    return problems


def _requires_problem(q: QuestionSpec, ci: int, c: CheckSpec, required: str, loc: tuple,
                      source: SourceMap, earlier: dict[str, int]) -> list[Problem]:
    names = [other.label for other in q.checks]
    if required in earlier:
        return []
    if required == c.label:
        why = "a check cannot require itself"
    elif required in names:
        why = (f"it is check {names.index(required) + 1}, after this one: checks are scored in "
               "order, so list it first")
    else:
        known = ", ".join(f"'{n}'" for n in names[:ci]) or "none"
        why = f"no such check{did_you_mean(required, names)}; earlier checks: {known}"
    return [source.problem(loc, f"{check_label(q.id, ci, c.name, c.type)}: requires "
                                f"'{required}': {why}")]


def _range_problems(head: str, c: CheckSpec, loc: tuple, source: SourceMap) -> list[Problem]:
    """Rules that relate two parameters: a margin and tiers below the threshold, min <= max."""
    p, problems = c.params, []
    threshold = p.get("threshold")
    calibrate = p.get("calibrate") or {}
    if isinstance(threshold, (int, float)) and calibrate.get("margin", 0) >= threshold > 0:
        problems.append(source.problem((*loc, "calibrate", "margin"), (
            f"{head}: margin {calibrate['margin']:g} is not below the threshold {threshold:g}: "
            "after calibration every answer would pass")))
    for ti, tier in enumerate(p.get("tiers") or []):
        if isinstance(threshold, (int, float)) and tier.get("min", 0) >= threshold:
            problems.append(source.problem((*loc, "tiers", ti, "min"), (
                f"{head}: tier min {tier['min']:g} is not below the threshold {threshold:g}")))
    low, high = p.get("min"), p.get("max")
    if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
        problems.append(source.problem((*loc, "min"), f"{head}: min {low:g} is above max "
                                                      f"{high:g}: nothing can pass"))
    return problems


# -- reference functions ---------------------------------------------------------------------

@dataclass(frozen=True)
class NamedFunction:
    """A reference function a rubric names, where, and how a check will call it."""

    name: str
    loc: tuple
    what: str  # "question 1.1, check 'X' (value_matches): fn"
    positional: int = 0
    keywords: tuple[str, ...] = ()
    any_keywords: bool = True  # False: the call is fully known, so missing parameters count


def named_functions(rubric: Rubric) -> Iterator[NamedFunction]:
    """Every reference function the rubric's checks and data name."""
    for qi, q in enumerate(rubric.questions):
        for ci, c in enumerate(q.checks):
            check_type = registry.get(c.type)
            if check_type is None:
                continue
            loc = ("questions", qi, "checks", ci)
            head = check_label(q.id, ci, c.name, c.type)
            yield from _marked(check_type.Params, c.params, loc, head)
            yield from _student_arguments(c.params, loc, head)
    if rubric.data.writer:
        yield NamedFunction(rubric.data.writer, ("data", "writer"), "data: writer", 1, (), False)


def _marked(model: type[BaseModel], values: dict, loc: tuple, head: str
            ) -> Iterator[NamedFunction]:
    """The reference functions a check's marked parameters name, and how each is called."""
    for found in marked_fields(model, values, loc):
        call = found.marks.get("reference")
        if not isinstance(call, dict):
            continue
        target, where, siblings = found.value, found.loc, found.siblings
        if target is None and call.get("default_from"):
            target = siblings.get(call["default_from"])
            where = (*found.loc[:-1], call["default_from"])
        if isinstance(target, str):
            given = next((v for v in (siblings.get(a) for a in call.get("args", []))
                          if v is not None), [])
            keywords = siblings.get(call["keywords"]) if call.get("keywords") else []
            yield NamedFunction(target, where, f"{head}: {found.path}",
                                len(given) + call.get("fixed", 0), tuple(keywords or ()),
                                bool(call.get("any_keywords")))


def _student_arguments(params: dict, loc: tuple, head: str) -> Iterator[NamedFunction]:
    """`{student: J}` passes the student's J to their function and the reference's J to the
    reference's (`{student: J, reference: K}`: K)."""
    for i, arg in enumerate(params.get("args") or []):
        if isinstance(arg, dict) and isinstance(arg.get("student"), str):
            key = "reference" if isinstance(arg.get("reference"), str) else "student"
            yield NamedFunction(arg[key], (*loc, "args", i, key), f"{head}: args[{i}]")


def _reference_problems(rubric: Rubric, report: StaticReport) -> list[Problem]:
    module, source = report.module, rubric.source
    label = reference_label(rubric.reference)
    available = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
    problems = []
    for use in named_functions(rubric):
        report.functions.add(use.name)
        fn = getattr(module, use.name, None)
        if fn is None or not callable(fn):
            problems.append(source.problem(use.loc, (
                f"{use.what}: reference function '{use.name}' is not in {label}"
                f"{did_you_mean(use.name, available)}")))
            continue
        why = call_mismatch(fn, use)
        if why:
            problems.append(source.problem(use.loc, f"{use.what}: {why}"))
    return problems


def call_mismatch(fn: Any, use: NamedFunction) -> str:
    """Why `fn` cannot be called the way the check calls it ('' when it can)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return ""  # a builtin or an extension: nothing to check
    keywords = dict.fromkeys(use.keywords)
    if "data" in signature.parameters:
        keywords["data"] = None
    bind = signature.bind_partial if use.any_keywords else signature.bind
    try:
        bind(*[None] * use.positional, **keywords)
    except TypeError as exc:
        given = f"{use.positional} positional argument{'s' if use.positional != 1 else ''}"
        if use.keywords:
            given += " and " + ", ".join(f"{k}=" for k in use.keywords)
        return (f"reference function {use.name}{signature} cannot be called with {given}: "
                f"{exc}")
    return ""


# -- data ------------------------------------------------------------------------------------

def _data_problems(rubric: Rubric, source: SourceMap) -> list[Problem]:
    folder = rubric_folder(rubric)
    problems = []
    for key in ("files", "hidden"):
        for i, entry in enumerate(getattr(rubric.data, key)):
            path = folder / entry
            if not path.exists():
                there = sorted(p.name for p in path.parent.iterdir()) if path.parent.is_dir() else []
                hint = (f"{did_you_mean(path.name, there)}; {path.parent} has: "
                        f"{', '.join(there[:12]) or 'nothing'}" if there else
                        f"; there is no folder {path.parent}")
                problems.append(source.problem(("data", key, i), (
                    f"data: {key}: '{entry}' does not exist (relative to the rubric's folder "
                    f"{folder}){hint}")))
    return problems
