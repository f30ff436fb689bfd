"""The grader's modules import one another in one direction: no import cycle among module-level
imports (a function-level import, used to keep the CLI lean, is not an edge). Fast: reads source."""

from __future__ import annotations

import ast
from pathlib import Path

GRADER = Path(__file__).resolve().parents[1] / "grader"


def module_name(path: Path) -> str:
    parts = path.relative_to(GRADER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The grader modules `path` imports at module level (a package's `from p import m`: p.m)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        found |= {n for n in names if n in modules}
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph` (module -> modules it imports), or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str]:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return []

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return []


def test_a_cycle_is_found_when_there_is_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_grader_modules() -> None:
    paths = {module_name(p): p for p in GRADER.rglob("*.py")}
    modules = set(paths)
    graph = {m: imports(p, modules) - {m} for m, p in paths.items()}
    # a package's own __init__ importing its submodules is how packages register them
    graph = {m: {d for d in deps if not (m.startswith(d + ".") or d.startswith(m + "."))}
             for m, deps in graph.items()}
    assert find_cycle(graph) == []


def test_new_review_modules_stay_small() -> None:
    for name in ("ledger", "manual", "manual_csv", "outputs", "gradescope", "student_view",
                 "release", "secret", "resultio", "store", "gradebook_schema", "exports"):
        lines = (GRADER / f"{name}.py").read_text().count("\n")
        assert lines <= 400, (name, lines)
