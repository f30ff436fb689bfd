"""Rubric stage: YAML text -> typed `Rubric`, with errors that name the file and the line.

A rubric lists the assignment's questions in order; each question names the heading that starts its
section in the notebook, its points, and its checks. A check is `type:` (a name in the check registry),
`points:`, an optional `name:` (the sentence shown in reports) and the parameters of that check type,
validated by the check type's own pydantic model, so a typo in a parameter is reported with its line.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from grader.checks import registry


class RubricError(ValueError):
    """A rubric that cannot be used; the message names the file and line."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckSpec(Strict):
    type: str
    points: float = Field(ge=0)
    name: str = ""
    requires: list[str] = Field(default_factory=list)  # names of checks that must pass first
    params: dict[str, Any] = Field(default_factory=dict)  # validated by the check type

    @model_validator(mode="before")
    @classmethod
    def _collect_params(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = {"type", "points", "name", "requires", "params"}
        params = dict(data.get("params") or {})
        params.update({k: v for k, v in data.items() if k not in known})
        out = {k: v for k, v in data.items() if k in known}
        out["params"] = params
        return out


class ManualSpec(Strict):
    points: float = Field(gt=0)
    instructions: str = ""
    model_answer: str = ""


class QuestionSpec(Strict):
    id: str
    title: str
    heading: str  # text of the markdown heading that starts the section, e.g. "Exercise 1.1"
    points: float = Field(ge=0)
    checks: list[CheckSpec] = Field(default_factory=list)
    manual: ManualSpec | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v

    @model_validator(mode="after")
    def _points_add_up(self) -> QuestionSpec:
        total = sum(c.points for c in self.checks) + (self.manual.points if self.manual else 0)
        if abs(total - self.points) > 1e-9:
            raise ValueError(
                f"question {self.id}: points is {self.points:g} but its checks"
                f"{' and manual part' if self.manual else ''} add up to {total:g}"
            )
        names = [c.name for c in self.checks if c.name]
        for c in self.checks:
            for r in c.requires:
                if r not in names:
                    raise ValueError(f"question {self.id}: check requires unknown check '{r}'")
        return self


class ExecutionSpec(Strict):
    cell_timeout: float = Field(600, gt=0)
    notebook_timeout: float = Field(3600, gt=0)
    startup_timeout: float = Field(60, gt=0)
    probe_timeout: float = Field(300, gt=0)


class LimitsSpec(Strict):
    memory_gb: float = Field(8, gt=0)
    cpu_seconds: int = Field(7200, gt=0)
    max_processes: int = Field(256, gt=0)
    max_open_files: int = Field(1024, gt=0)
    max_file_mb: int = Field(2048, gt=0)
    max_output_mb: float = Field(20, gt=0)  # captured cell output kept per notebook
    max_capture_mb: float = Field(512, gt=0)  # plain data one probe may send back
    threads: int = Field(1, gt=0)


class DataSpec(Strict):
    layouts: list[str] = Field(default_factory=list)  # "npz", "torchvision"


class Rubric(Strict):
    assignment: str
    title: str
    reference: str  # module under reference/, e.g. "lab9"
    handout: str | None = None  # the blank handout notebook, relative to this file (grader/handout.py)
    data: DataSpec = Field(default_factory=DataSpec)
    execution: ExecutionSpec = Field(default_factory=ExecutionSpec)
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    forbidden_calls: list[str] = Field(default_factory=list)  # traced at run time in the kernel
    questions: list[QuestionSpec]
    source_path: str = ""
    sha256: str = ""

    @model_validator(mode="after")
    def _unique_ids(self) -> Rubric:
        seen: set[str] = set()
        for q in self.questions:
            if q.id in seen:
                raise ValueError(f"question id {q.id} appears twice")
            seen.add(q.id)
        return self

    @property
    def max_score(self) -> float:
        return sum(q.points for q in self.questions)

    def question(self, qid: str) -> QuestionSpec:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)


def _line_index(node: yaml.Node, path: tuple = ()) -> dict[tuple, int]:
    """Map every key path in the YAML document to its 1-based line number."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = path + (key.value,)
            lines[sub] = key.start_mark.line + 1
            for p, ln in _line_index(value, sub).items():
                lines.setdefault(p, ln)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            for p, ln in _line_index(item, path + (i,)).items():
                lines.setdefault(p, ln)
    return lines


def _line_for(loc: tuple, lines: dict[tuple, int]) -> int | None:
    """The line of the deepest existing YAML path along a pydantic error location."""
    parts = tuple(p for p in loc if p != "params")
    while parts:
        if parts in lines:
            return lines[parts]
        parts = parts[:-1]
    return lines.get(())


def _format_error(path: Path, err: dict, lines: dict[tuple, int]) -> str:
    loc = tuple(err["loc"])
    line = _line_for(loc, lines)
    where = ".".join(str(p) for p in loc if p != "params") or "top level"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{path}:{line or '?'}: {where}: {msg}"


def parse_rubric(text: str, path: Path) -> Rubric:
    """Parse and validate rubric YAML text; raises RubricError naming file and line."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RubricError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict) or node is None:
        raise RubricError(f"{path}:1: a rubric is a YAML mapping with 'assignment' and 'questions'")
    lines = _line_index(node)
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:
        msgs = [_format_error(path, e, lines) for e in exc.errors()[:10]]
        raise RubricError("invalid rubric:\n  " + "\n  ".join(msgs)) from None
    _validate_check_params(rubric, path, lines)
    rubric.source_path = str(path)
    rubric.sha256 = hashlib.sha256(text.encode()).hexdigest()
    return rubric


def _validate_check_params(rubric: Rubric, path: Path, lines: dict[tuple, int]) -> None:
    """Each check's parameters against its check type's model (unknown types and typos)."""
    problems = []
    for qi, q in enumerate(rubric.questions):
        for ci, c in enumerate(q.checks):
            loc = ("questions", qi, "checks", ci)
            check_type = registry.get(c.type)
            if check_type is None:
                known = ", ".join(sorted(registry))
                problems.append(
                    f"{path}:{_line_for(loc + ('type',), lines)}: question {q.id}: "
                    f"unknown check type '{c.type}' (known: {known})"
                )
                continue
            try:
                c.params = check_type.Params.model_validate(c.params).model_dump()
            except ValidationError as exc:
                for e in exc.errors()[:5]:
                    e = dict(e, loc=loc + tuple(e["loc"]))
                    problems.append(_format_error(path, e, lines) + f" (check '{c.type}')")
    if problems:
        raise RubricError("invalid rubric:\n  " + "\n  ".join(problems))


def load_rubric(path: Path) -> Rubric:
    """Read and validate a rubric file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RubricError(f"{path}: cannot read rubric: {exc.strerror}") from None
    return parse_rubric(text, path)
