"""Validation against the instructor's solution: a rubric file + a solution notebook -> `Validation`.

`validate_course(rubric_path, options)` runs everything `grade validate` promises, in order, and
stops at the first stage with problems: the schema (rubric.py) and the semantics with the reference
module (validate.py, via `load_assignment`, so exactly what grading refuses); then, with a solution
notebook, every question's heading is in it and every artifact a check names is bound by the end of
its section (read statically, nothing runs); then the solution is graded (in the sandbox, as students
are) and must earn every automatic point. Each problem is a sentence at the rubric's file:line:column
where one exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.assignment import (
    RUBRICS_DIR,
    Assignment,
    AssignmentError,
    load_assignment,
    read_rubric_text,
)
from grader.cellsource import bindings
from grader.checks import registry
from grader.checks.fields import marked_fields
from grader.notebook import NotebookError, Section, load_notebook, locate_sections
from grader.options import ValidateOptions
from grader.results import GRADER_PROBLEM
from grader.rubric import CheckSpec, Rubric, RubricError, check_label, parse_rubric
from grader.rubric_source import Problem, did_you_mean
from grader.validate import validate_rubric

SOLUTION_NAME = "solution.ipynb"  # looked for next to the rubric when --solution is not given


@dataclass
class Validation:
    """What `grade validate` found for one rubric: what held, and every problem."""

    rubric: Path
    passed: list[str] = field(default_factory=list)  # one sentence per stage that held
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. no solution: not graded

    @property
    def ok(self) -> bool:
        return not self.problems


def rubric_files(paths: tuple[Path, ...]) -> list[Path]:
    """The rubrics to validate: files as given, a folder's *.yaml (else its */rubric.yaml), and
    with no path every rubric of the grader's rubrics/; raises FileNotFoundError."""
    if not paths:
        return sorted(RUBRICS_DIR.glob("*.yaml"))
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(path.glob("*.yaml")) or sorted(path.glob("*/rubric.yaml"))
            if not inside:
                raise FileNotFoundError(f"{path}: no rubric (*.yaml, or */rubric.yaml) in it")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


def solution_for(rubric_path: Path, given: Path | None) -> Path | None:
    """The solution notebook: the one given, else solution.ipynb next to the rubric, if any."""
    if given is not None:
        return given
    beside = rubric_path.parent / SOLUTION_NAME
    return beside if beside.is_file() else None


def validate_course(rubric_path: Path, options: ValidateOptions) -> Validation:
    """Validate one rubric (and its solution, when there is one); never raises for its content.

    Every problem the schema lets through is found in one pass (semantics, headings, artifacts);
    the solution is graded only when there is none.
    """
    out = Validation(rubric_path)
    try:
        rubric = parse_rubric(read_rubric_text(rubric_path), rubric_path)
    except (AssignmentError, RubricError) as exc:
        out.problems += _lines(str(exc))
        return out
    problems = validate_rubric(rubric).problems
    solution = solution_for(rubric_path, options.solution)
    nb = None
    if solution is None:
        out.notes.append(f"no solution notebook (--solution, or {SOLUTION_NAME} next to the "
                         "rubric): headings, artifacts and full marks not checked")
    else:
        try:
            nb = load_notebook(solution).nb
        except NotebookError as exc:
            out.problems.append(str(exc))
            return out
        sections = locate_sections(nb, rubric.questions)
        problems += heading_problems(rubric, sections, nb, solution)
        problems += artifact_problems(rubric, sections, nb)
    if problems:
        out.problems += [str(p) for p in sorted(problems)]
        return out
    try:
        assignment = load_assignment(read_rubric_text(rubric_path), rubric_path, options.data_dir,
                                     options.train_limit)
    except AssignmentError as exc:  # the data (or its writer): nothing else is left to refuse
        out.problems += _lines(str(exc))
        return out
    out.passed.append(_static_sentence(assignment))
    if solution is not None:
        out.passed.append(f"solution {solution}: {len(rubric.questions)} of "
                          f"{len(rubric.questions)} headings found, every artifact bound by the "
                          "end of its section")
        _grade_solution(solution, assignment, options, out)
    return out


def _lines(message: str) -> list[str]:
    """The problems of a RubricError / AssignmentError message, one per line."""
    return [line.strip() for line in message.splitlines()
            if line.strip() and not line.startswith("invalid rubric")]


def _static_sentence(assignment: Assignment) -> str:
    rubric, data = assignment.rubric, assignment.rubric.data
    auto = sum(q.auto_points for q in rubric.questions)
    manual = rubric.max_score - auto
    module = assignment.checked.module
    parts = [f"{len(rubric.questions)} questions, {rubric.max_score:g} points ({auto:g} automatic"
             + (f", {manual:g} manual" if manual else "") + ")",
             f"{len(assignment.checked.functions)} reference functions found in "
             + (module.__file__ or "?" if module else "?")]
    if data.files or data.hidden or data.writer:
        parts.append(f"data: {len(data.files)} copied, {len(data.hidden)} hidden"
                     + (f", written by {data.writer}" if data.writer else ""))
    return "rubric and reference: " + "; ".join(parts)


def heading_problems(rubric: Rubric, sections: list[Section], nb: nbformat.NotebookNode,
                     solution: Path) -> list[Problem]:
    """A problem at each question heading the solution does not contain (a section found only by
    the question's title, as a student's heading without its number is, still needs its heading
    in the instructor's own solution)."""
    headings = [line.lstrip("#").strip() for cell in nb.cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("#")]
    shown = "; ".join(f"'{h[:40]}'" for h in headings[:8]) or "none"
    return [rubric.source.problem(("questions", qi, "heading"), (
        f"question {q.id}: heading '{q.heading}' is not in the solution {solution} "
        f"(its headings: {shown})"))
        for qi, (q, s) in enumerate(zip(rubric.questions, sections, strict=True))
        if not s.found or s.by_title]


def bound_names(source: str) -> set[str]:
    """Top-level names a cell binds: assignments, loops, with-as, def, class, import."""
    return {name for name, _ in bindings(source)}


def artifact_problems(rubric: Rubric, sections: list[Section], nb: nbformat.NotebookNode
                      ) -> list[Problem]:
    """A problem at each artifact a check names that the solution does not bind by the end of
    the check's section (captured there, so a name bound only later is not there yet)."""
    per_cell = [bound_names(c.source) if c.cell_type == "code" else set() for c in nb.cells]
    problems = []
    for qi, (q, section) in enumerate(zip(rubric.questions, sections, strict=True)):
        before = set().union(*per_cell[:section.end])
        own = sorted(set().union(*per_cell[section.start:section.end]))
        for ci, check in enumerate(q.checks):
            for loc, names in _artifacts(check, ("questions", qi, "checks", ci)):
                if any(n in before for n in names):
                    continue
                later = next((s.question_id for s in sections if s.start >= section.end
                              and any(n in set().union(*per_cell[s.start:s.end]) for n in names)),
                             None)
                shown = " or ".join(f"'{n}'" for n in names)
                why = (f"is bound only in question {later}'s section, after this one ends"
                       if later else "is never bound in the solution"
                       + did_you_mean(names[0], before))
                problems.append(rubric.source.problem(loc, (
                    f"{check_label(q.id, ci, check.name, check.type)}: {shown} {why} "
                    f"(names bound in its section: {', '.join(own[:12]) or 'none'})")))
    return problems


def _artifacts(check: CheckSpec, loc: tuple) -> list[tuple[tuple, list[str]]]:
    """(where, candidate names) of each artifact the check names; wildcards (`*section`) skip."""
    check_type = registry.get(check.type)
    if check_type is None:
        return []
    found: list[tuple[tuple, list[str]]] = []
    for marked in marked_fields(check_type.Params, check.params, loc):
        value = marked.value
        names = [value] if isinstance(value, str) else list(value or [])
        if not marked.marks.get("artifact") or not names or any(n.startswith("*") for n in names):
            continue
        if isinstance(value, str) or marked.name == "artifact":
            found.append((marked.loc, names))  # one name, or candidates: one of them is enough
        else:
            found += [((*marked.loc, i), [n]) for i, n in enumerate(names)]  # each one needed
    for i, arg in enumerate(check.params.get("args") or []):
        if isinstance(arg, dict) and isinstance(arg.get("student"), str):
            found.append(((*loc, "args", i, "student"), [arg["student"]]))
    return found


def _grade_solution(solution: Path, assignment: Assignment, options: ValidateOptions,
                    out: Validation) -> None:
    """Grade the solution as a student is graded; every automatic point must be earned."""
    from grader.pipeline import GradeConfig, grade_notebook

    config = GradeConfig(rubric=assignment.rubric, data=assignment.data,
                         cache_dir=options.reference_cache, confine=options.confine,
                         cell_timeout=options.cell_timeout)
    start = time.perf_counter()
    result = grade_notebook(solution, config, student="solution")
    seconds = time.perf_counter() - start
    if result.fatal:
        out.problems.append(f"grading the solution failed: {result.fatal}")
        return
    auto = sum(q.auto_points for q in assignment.rubric.questions)
    earned = sum(q.points for q in result.questions)
    rubric = assignment.rubric
    for qi, q in enumerate(result.questions):
        for ci, c in enumerate(q.checks):
            place = rubric.source.place(("questions", qi, "checks", ci))
            what = f"question {q.id}, check '{c.name}'"
            if c.grader_problem:
                out.problems.append(f"{place}: a grader problem on the solution: {what}: "
                                    f"{c.message.removeprefix(GRADER_PROBLEM)}")
            elif not c.passed and c.max_points > 0:
                out.problems.append(f"{place}: the solution loses points: {what}: "
                                    f"{c.points:g}/{c.max_points:g}: {c.message}")
        for e in (q.section.errors if q.section else [])[:1]:
            out.notes.append(f"question {q.id}: solution cell {e.cell_index} raised {e.ename}: "
                             f"{e.evalue[:200]}")
    if not out.problems:
        out.passed.append(f"graded the solution: {earned:g}/{auto:g} automatic points "
                          f"({seconds:.1f} s, data: {assignment.data.description})")

