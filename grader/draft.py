"""Drafting a rubric from a solution notebook: `.ipynb` -> rubric YAML text for the instructor to finish.

Every markdown heading whose section holds code becomes a question (numbered headings only, when the
notebook has any: "Exercise 1.2" gives id "1.2", heading "Exercise 1.2", title the rest of the line).
Every name the section's code binds becomes one check: a function a `function_matches` (the reference
function of the same name, on inputs from a reference function `<name>_inputs` returning one array
per parameter), any other value a `value_matches` against a reference function of the same name.
Classes get a comment pointing at the checks that call classes. Points are 1 per check, marked TODO;
`grade validate` then says what is still missing (reference functions, points, headings).
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.cellsource import bindings, parse_cell

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*\S)\s*$")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)*)(?![\w.]*\d)")


@dataclass
class DraftQuestion:
    heading_line: str  # the heading as written, without the #s
    sources: list[str] = field(default_factory=list)  # its code cells

    @property
    def number(self) -> str | None:
        found = _NUMBER.search(self.heading_line)
        return found.group(1) if found else None

    @property
    def heading(self) -> str:
        """What the rubric matches: the words up to the number ("Exercise 1.2"), or the line."""
        found = _NUMBER.search(self.heading_line)
        return self.heading_line[:found.end()].strip("*_ ") if found else self.heading_line

    @property
    def title(self) -> str:
        found = _NUMBER.search(self.heading_line)
        rest = self.heading_line[found.end():] if found else self.heading_line
        return rest.strip(" *_:.–—-") or self.heading_line


def draft_questions(nb: nbformat.NotebookNode) -> list[DraftQuestion]:
    """The sections under the notebook's headings that hold code (numbered ones, if any are)."""
    sections: list[DraftQuestion] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines = [m.group(1) for line in cell.source.splitlines()
                     if (m := _HEADING.match(line))]
            if lines:
                sections.append(DraftQuestion(lines[0].strip("*_ ")))
        elif cell.cell_type == "code" and sections and cell.source.strip():
            sections[-1].sources.append(cell.source)
    with_code = [s for s in sections if s.sources]
    numbered = [s for s in with_code if s.number]
    return numbered or with_code


def notebook_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def _parameters(sources: list[str], function: str) -> list[str]:
    for source in sources:
        tree = parse_cell(source)
        for node in tree.body if tree else []:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
                return [a.arg for a in node.args.posonlyargs + node.args.args]
    return []


def _checks(question: DraftQuestion) -> tuple[list[str], list[str]]:
    """YAML lines of the question's checks, one per name its section binds, and the reference
    functions they name."""
    seen: dict[str, str] = {}
    for source in question.sources:
        for name, kind in bindings(source):
            if kind != "import" and not name.startswith("_"):
                seen.setdefault(name, kind)
    lines: list[str] = []
    functions: list[str] = []
    for name, kind in seen.items():
        if kind == "function":
            args = _parameters(question.sources, name)
            returns = ", ".join(f"{a}: array" for a in args)
            lines += _FUNCTION_CHECK.format(name=name, returns=returns,
                                            args=", ".join(args)).splitlines()
            functions += [name, f"{name}_inputs"]
        elif kind == "class":
            lines.append(f"      # class {name}: see class_predictions or module_forward_shape "
                         "in docs/rubrics.md")
        else:
            lines += _VALUE_CHECK.format(name=name).splitlines()
            functions.append(name)
    return (lines or _SECTION_CHECK.splitlines()), functions


_FUNCTION_CHECK = """\
      - type: function_matches
        name: {name} matches the reference
        points: 1  # TODO
        function: {name}
        inputs: {name}_inputs   # reference function -> {{{returns}}}
        args: [{args}]"""
_VALUE_CHECK = """\
      - type: value_matches
        name: {name}
        points: 1  # TODO
        artifact: {name}
        expected: [{{fn: {name}}}]"""
_SECTION_CHECK = """\
      - type: section_ran
        name: the section runs
        points: 1  # TODO"""


def draft_rubric(solution: Path, nb: nbformat.NotebookNode, reference: str) -> str:
    """The rubric YAML text drafted from a solution notebook."""
    folder = solution.resolve().parent.name
    assignment = folder if solution.stem in ("solution", "solutions") else solution.stem
    questions = [(q, _checks(q)) for q in draft_questions(nb)]
    needed = ", ".join(name for _, (_, names) in questions for name in names)
    todo = textwrap.wrap(f"To do: the points (TODO), the checks to keep, these reference "
                         f"functions in {reference}: {needed}; then `grade validate` on this "
                         "file.", width=98)
    out = [f"# Drafted by `grade init {solution}`.", *(f"# {line}" for line in todo),
           f"assignment: {json.dumps(assignment)}",
           f"title: {json.dumps(notebook_title(nb, assignment))}",
           f"reference: {reference}",
           "# data:",
           "#   files: [data]            # copied into each notebook's folder",
           "#   hidden: [hidden]         # kept with the grader, for reference functions",
           "", "questions:"]
    for i, (q, (checks, _)) in enumerate(questions, start=1):
        points = sum(1 for line in checks if line.endswith("# TODO"))
        out += [f"  - id: {json.dumps(q.number or str(i))}",
                f"    title: {json.dumps(q.title)}",
                f"    heading: {json.dumps(q.heading)}",
                f"    points: {points}  # TODO: the sum of its checks' points",
                "    checks:", *checks, ""]
    return "\n".join(out)
