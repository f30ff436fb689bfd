"""Where things are in a rubric file: YAML text -> (data, `SourceMap`), and messages that point there.

`read_yaml(text, path)` parses the text (a syntax error is a `RubricError` at its line and column,
a key written twice in one mapping too) and returns the plain data with a `SourceMap`: for every key
path (`("questions", 0, "checks", 1, "atol")`), the line and column where it starts. Every stage that
finds a problem in a rubric (the schema in rubric.py, the semantics in validate.py) reports it as a
`Problem` at `file:line:column`, and `closest(...)` suggests what was probably meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]


class RubricError(ValueError):
    """A rubric that cannot be used; the message names the file, line and column of each problem."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a rubric, at the place in the file where it is (sorted by place)."""

    line: int  # 1-based
    column: int
    file: str
    message: str

    @property
    def place(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def __str__(self) -> str:
        return f"{self.place}: {self.message}"


def rubric_error(problems: Sequence[Problem], limit: int = 20) -> RubricError:
    """One exception listing the problems (the first `limit`), in file order."""
    problems = sorted(problems)
    shown = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        shown.append(f"... and {len(problems) - limit} more")
    noun = "problem" if len(problems) == 1 else "problems"
    return RubricError(f"invalid rubric ({len(problems)} {noun}):\n  " + "\n  ".join(shown))


@dataclass(frozen=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


class SourceMap:
    """The line and column of every key path of one YAML document (keys, and list items)."""

    def __init__(self, path: Path, marks: dict[Loc, Mark], scalars: dict[Loc, str]) -> None:
        self.path = path
        self._marks = marks
        self._scalars = scalars  # the text of plain (unquoted) scalars, as written

    def mark(self, loc: Iterable[Any]) -> Mark:
        """Where the deepest existing prefix of `loc` starts (the document's start at worst)."""
        parts = tuple(p for p in loc if p != "params")
        while parts and parts not in self._marks:
            parts = parts[:-1]
        return self._marks.get(parts, Mark(1, 1))

    def place(self, loc: Iterable[Any]) -> str:
        mark = self.mark(loc)
        return f"{self.path}:{mark.line}:{mark.column}"

    def problem(self, loc: Iterable[Any], message: str) -> Problem:
        mark = self.mark(loc)
        return Problem(mark.line, mark.column, str(self.path), message)

    def has(self, loc: Iterable[Any]) -> bool:
        return tuple(loc) in self._marks

    def plain_text(self, loc: Iterable[Any]) -> str | None:
        """The text of an unquoted scalar as written (`1.10`, which YAML reads as 1.1)."""
        return self._scalars.get(tuple(loc))


# libyaml's loader when PyYAML has it: the same documents and marks, about 8x faster
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str, path: Path) -> tuple[Any, SourceMap]:
    """Parse rubric YAML; raises RubricError at the line and column of a syntax error."""
    try:
        try:
            node = yaml.compose(text, Loader=_LOADER)
            data = yaml.load(text, Loader=_LOADER)
        except yaml.YAMLError:  # said as the pure-Python parser says it (line, column, problem)
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        raise RubricError(f"{where}: not valid YAML: {problem}"
                          + (f" ({context})" if context else "")) from None
    marks: dict[Loc, Mark] = {}
    scalars: dict[Loc, str] = {}
    duplicates: list[Problem] = []
    if node is not None:
        marks[()] = _mark(node.start_mark)
        _index(node, (), marks, scalars, duplicates, path)
    if duplicates:
        raise rubric_error(duplicates)
    return data, SourceMap(path, marks, scalars)


def _mark(mark: yaml.Mark) -> Mark:
    return Mark(mark.line + 1, mark.column + 1)


def _index(node: yaml.Node, path: Loc, marks: dict[Loc, Mark], scalars: dict[Loc, str],
           duplicates: list[Problem], file: Path) -> None:
    if isinstance(node, yaml.ScalarNode) and not node.style:  # plain: None, or '' from libyaml
        scalars[path] = node.value
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, Mark] = {}
        for key, value in node.value:
            here = _mark(key.start_mark)
            if key.value in seen:
                first = seen[key.value]
                duplicates.append(Problem(here.line, here.column, str(file),
                                          f"'{key.value}' is written twice in this mapping (first "
                                          f"at line {first.line}); YAML would keep only this one"))
            seen[key.value] = here
            sub = (*path, key.value)
            marks.setdefault(sub, here)
            _index(value, sub, marks, scalars, duplicates, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = (*path, i)
            marks.setdefault(sub, _mark(item.start_mark))
            _index(item, sub, marks, scalars, duplicates, file)


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` most probably misspells, if any is close enough (case aside)."""
    by_lower = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[found[0]] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' or ''."""
    best = closest(word, choices)
    return f" (did you mean '{best}'?)" if best else ""
