"""Student code as text: magics blanked, parsed, and the names it binds. Imports nothing from grader.

Used by the notebook stage (names a section assigns, as candidates for artifacts), by the checks that
read code statically (forbidden calls), and by rubric validation and drafting (what a solution
binds). Parsing never executes anything and never raises for bad code.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterator

_MAGIC_LINE = re.compile(r"^\s*[%!?]")


def python_source(source: str) -> str:
    """A code cell's text with IPython magics, shell escapes and help lines blanked (lines kept)."""
    return "\n".join("" if _MAGIC_LINE.match(line) else line for line in source.splitlines())


def parse_cell(source: str) -> ast.Module | None:
    """The cell's syntax tree (magics blanked), or None when it is not valid Python."""
    try:
        with warnings.catch_warnings():  # student code's invalid escapes are not our warnings
            warnings.simplefilter("ignore")
            return ast.parse(python_source(source))
    except SyntaxError:
        return None


def assigned_names(sources: list[str]) -> list[str]:
    """Top-level names the cells bind (assignments, for-loops, with-as), most recent first."""
    names: list[str] = []
    for source in sources:
        tree = parse_cell(source)
        if tree is None:
            continue
        for node in tree.body:
            for sub in ast.walk(node):
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    break
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.append(sub.id)
    seen: list[str] = []
    for n in reversed(names):
        if n not in seen:
            seen.append(n)
    return seen


_NEW_SCOPES = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def bindings(source: str) -> list[tuple[str, str]]:
    """(name, kind) of every top-level name a cell binds, in order of appearance; kind is
    "function", "class", "import" or "value" (assignments, loop and with targets)."""
    tree = parse_cell(source)
    found: list[tuple[str, str]] = []
    for node in _in_order(tree.body if tree else []):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((node.name, "function"))
        elif isinstance(node, ast.ClassDef):
            found.append((node.name, "class"))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found += [(a.asname or a.name.split(".")[0], "import") for a in node.names]
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.append((node.id, "value"))
    return found


def _in_order(nodes: list[ast.AST]) -> Iterator[ast.AST]:
    """Nodes in source order, not entering function, class, lambda or comprehension scopes."""
    for node in nodes:
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                 *_NEW_SCOPES)):
            yield from _in_order(list(ast.iter_child_nodes(node)))
