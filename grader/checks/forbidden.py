"""Forbidden shortcuts (e.g. `numpy.cov`, `sklearn.neighbors`): found statically and at run time.

Static: every code cell is parsed (IPython magics blanked) and names are resolved through imports and
aliases, so `np.cov`, `numpy.cov`, `from numpy import cov as c; c(...)`, `getattr(np, "cov")`,
`__import__("numpy").cov` and `importlib.import_module("sklearn.neighbors")` are all found.
Run time: the kernel wraps each forbidden callable before the first student cell and logs its calls.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from grader.cellsource import parse_cell, python_source
from grader.checks.base import CheckType, OpResult, Params, PlanContext, ScoreContext, Verdict
from grader.probes import CallsLogOp, ProbeOp


@dataclass(frozen=True)
class Finding:
    cell: int
    line: int
    name: str
    code: str


class _Resolver(ast.NodeVisitor):
    """Collects the dotted names a cell uses, resolved through its (and earlier cells') imports."""

    def __init__(self, aliases: dict[str, str]) -> None:
        self.aliases = aliases
        self.used: list[tuple[int, str]] = []

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if a.asname:
                self.aliases[a.asname] = a.name
            else:
                top = a.name.split(".")[0]
                self.aliases[top] = top
            self.used.append((node.lineno, a.name))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        mod = node.module or ""
        for a in node.names:
            full = f"{mod}.{a.name}" if mod else a.name
            self.aliases[a.asname or a.name] = full
            self.used.append((node.lineno, full))

    def dotted(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            fn = self.dotted(node.func)  # also `import_module` imported by name
            name = node.func.id if isinstance(node.func, ast.Name) else None
            arg0 = node.args[0] if node.args else None
            literal = arg0.value if isinstance(arg0, ast.Constant) and isinstance(arg0.value,
                                                                                  str) else None
            if literal and (name == "__import__" or fn == "importlib.import_module"):
                return literal
            if name == "getattr" and len(node.args) >= 2:
                base = self.dotted(node.args[0])
                attr = node.args[1]
                if base and isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                    return f"{base}.{attr.value}"
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = self.dotted(node)
        if name:
            self.used.append((node.lineno, name))
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.aliases:
            self.used.append((node.lineno, self.aliases[node.id]))

    def visit_Call(self, node: ast.Call) -> None:
        name = self.dotted(node)
        if name:  # only import_module / __import__ / getattr calls resolve to a name
            self.used.append((node.lineno, name))
        self.generic_visit(node)


def find_forbidden(sources: dict[int, str], names: list[str]) -> list[Finding]:
    """Uses of any forbidden dotted name (or anything under it) in the given cells, in order."""
    aliases: dict[str, str] = {}
    findings: list[Finding] = []
    seen: set[tuple[int, int, str]] = set()
    for index in sorted(sources):
        tree = parse_cell(sources[index])
        if tree is None:
            continue
        resolver = _Resolver(aliases)
        resolver.visit(tree)
        lines = python_source(sources[index]).splitlines()
        for line, used in resolver.used:
            for bad in names:
                if used == bad or used.startswith(bad + "."):
                    key = (index, line, bad)
                    if key not in seen:
                        seen.add(key)
                        code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
                        findings.append(Finding(index, line, bad, code[:120]))
    return findings


class Forbidden(CheckType):
    """The notebook does not use the forbidden functions or modules (static and run time)."""

    name = "forbidden"

    class Params(Params):
        names: list[str] = Field(description="dotted names: functions (\"numpy.cov\") or "
                                             "modules (\"sklearn.neighbors\")")
        scope: str = Field("notebook", description="\"notebook\" or \"section\": where static "
                                                   "uses count")
        reason: str = Field("", description="what the handout says, shown to the student")
        voids_question: bool = Field(True, description="a use voids the whole question (0 points)")

    def plan(self, p: Params, ctx: PlanContext, state: dict[str, Any]) -> list[ProbeOp]:
        return [CallsLogOp()]

    def score(self, p: Params, ctx: ScoreContext, results: list[OpResult]) -> Verdict:
        cells = range(len(ctx.notebook_sources)) if p.scope == "notebook" \
            else ctx.section.cell_indices
        sources = {i: ctx.notebook_sources[i] for i in cells if ctx.notebook_sources[i]}
        findings = find_forbidden(sources, p.names)
        calls = []
        if results and results[0].ok:
            calls = [c for c in results[0].data.get("calls", [])
                     if isinstance(c, dict) and any(str(c.get("call", "")).startswith(n)
                                                    for n in p.names)]
        why = f" ({p.reason})" if p.reason else ""
        if findings:
            f = findings[0]
            more = f" and {len(findings) - 1} more place(s)" if len(findings) > 1 else ""
            return Verdict(0.0, f"uses {f.name} in cell {f.cell}, line {f.line}: `{f.code}`"
                                f"{more}; it is not allowed here{why}",
                           voids_question=p.voids_question)
        if calls:
            c = calls[0]
            cell = ctx.cell_of_execution.get(int(c.get("execution_count", -1)), "?")
            return Verdict(0.0, f"{c['call']} was called at run time (cell {cell}) although "
                                f"the code hides it; it is not allowed here{why}",
                           voids_question=p.voids_question)
        return Verdict.ok(f"does not use {', '.join(p.names)}")
