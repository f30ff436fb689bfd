"""Rubric stage: YAML text -> typed `Rubric`, with schema errors at file:line:column.

A rubric lists the assignment's questions in order; each question names the heading that starts its
section in the notebook, its points, and its checks. A check is `type:` (a name in the check registry),
`points:`, an optional `name:` (the sentence shown in reports) and the parameters of that check type,
validated by the check type's own pydantic model, so a typo in a parameter is reported at its line
with the closest parameter name and the list of allowed ones.

This stage is the schema only. What needs the rubric as a whole or the reference module (points that
add up, reference functions that exist, thresholds in range, data paths) is validate.py's; what needs
the instructor's solution notebook is solution.py's.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from grader.checks import registry
from grader.checks.fields import nested_model
from grader.expected import is_module_path
from grader.rubric_source import (
    Problem,
    RubricError,
    SourceMap,
    did_you_mean,
    read_yaml,
    rubric_error,
)

__all__ = ["CheckSpec", "QuestionSpec", "Rubric", "RubricError", "load_rubric", "nested_model",
           "parse_rubric"]

CHECK_FIELDS = ("type", "points", "name", "requires", "visibility", "hint")
INTERNAL_FIELDS = ("params", "source_path", "folder", "sha256")  # not written in a rubric


Visibility = Literal["visible", "hidden", "after_due"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckSpec(Strict):
    type: str = Field(description="the check type (see the check types below)")
    points: float = Field(ge=0, description="points this check is worth (0: a note in the report)")
    name: str = Field("", description="the sentence reports show for this check; `requires` "
                                      "refers to checks by it (default: the type)")
    requires: list[str] = Field(default_factory=list,
                                description="names of earlier checks of the question that must "
                                            "pass for this one to count")
    visibility: Visibility = Field("visible", description="what a student's report shows: "
                                   "\"visible\": the check, its points and its sentence (reference "
                                   "values left out); \"hidden\": only that a hidden check passed "
                                   "or failed, its points and `hint`; \"after_due\": hidden until "
                                   "the rubric's `due` (or `grade release --after-due`), then "
                                   "visible")
    hint: str = Field("", description="the sentence a student sees when this hidden check fails, "
                                      "e.g. \"test your function on an array with ties\"")
    params: dict[str, Any] = Field(default_factory=dict)  # validated by the check type

    @model_validator(mode="before")
    @classmethod
    def _collect_params(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = {*CHECK_FIELDS, "params"}
        params = dict(data.get("params") or {})
        params.update({k: v for k, v in data.items() if k not in known})
        out = {k: v for k, v in data.items() if k in known}
        out["params"] = params
        return out

    @property
    def label(self) -> str:
        return self.name or self.type


class ManualSpec(Strict):
    points: float = Field(gt=0, description="points a human reviewer awards")
    instructions: str = Field("", description="what the reviewer looks for")
    model_answer: str = Field("", description="shown to the reviewer beside the student's answer")


class QuestionSpec(Strict):
    id: str = Field(description="the handout's number, e.g. \"1.2\" (unique in the rubric)")
    title: str = Field(description="shown in reports")
    heading: str = Field(description="text of the markdown heading that starts the question's "
                                     "section, e.g. \"Exercise 1.1\" (matches \"## Exercise 1.1 "
                                     "– Build ...\", not \"Exercise 1.10\")")
    points: float = Field(ge=0, description="the question's points: its checks' points plus its "
                                            "manual part's")
    checks: list[CheckSpec] = Field(default_factory=list,
                                    description="automatic checks, scored in this order")
    manual: ManualSpec | None = Field(None, description="a part a human grades")

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v

    @property
    def auto_points(self) -> float:
        return sum(c.points for c in self.checks)


class ExecutionSpec(Strict):
    cell_timeout: float = Field(600, gt=0, description="seconds one cell may run "
                                                       "(`grade --cell-timeout` overrides)")
    notebook_timeout: float = Field(3600, gt=0, description="seconds the whole notebook may run")
    startup_timeout: float = Field(60, gt=0, description="seconds for the kernel to start")
    probe_timeout: float = Field(300, gt=0, description="seconds for one question's capture")
    interrupt_grace: float = Field(15, gt=0, description="seconds a kernel interrupted at a cell's "
                                   "time limit has to answer again before it is replaced")
    max_restarts: int = Field(2, ge=0, description="fresh kernels per notebook after one dies or "
                                                    "stops answering")


class LimitsSpec(Strict):
    memory_gb: float = Field(8, gt=0, description="address space per kernel process")
    cpu_seconds: int = Field(7200, gt=0, description="CPU time per kernel process")
    max_processes: int = Field(256, gt=0, description="processes the kernel may start")
    max_open_files: int = Field(1024, gt=0, description="open files per process")
    max_file_mb: int = Field(2048, gt=0, description="largest file the notebook may write")
    disk_mb: int = Field(1024, gt=0, description="what the notebook may write in all (working "
                                                 "folder, /tmp, /dev/shm), in RAM")
    max_output_mb: float = Field(20, gt=0, description="captured cell output kept per notebook")
    max_capture_mb: float = Field(512, gt=0, description="plain data one probe may send back")
    threads: int | None = Field(None, gt=0, description="threads for torch/BLAS in each kernel; "
                                "default: derived, all cores for one notebook and cores // "
                                "workers (at least 1) in a batch; a number fixes it")


class DataSpec(Strict):
    layouts: list[Literal["npz", "torchvision"]] = Field(
        default_factory=list,
        description="MNIST train/test splits written into the notebook's folder: `npz` "
                    "(mnist_train.npz / mnist_test.npz, keys X, y) or `torchvision` (MNIST/raw/)")
    files: list[str] = Field(
        default_factory=list,
        description="files or folders, relative to the rubric file, copied into the notebook's "
                    "folder under their own names (`data` gives the notebook `data/...`)")
    writer: str | None = Field(
        None, description="reference function `writer(folder)` that writes data files into the "
                          "folder it is given; run once per grading process, before any notebook, "
                          "and its files copied into each notebook's folder. Seed it: every "
                          "worker runs it, and the bytes it writes are part of the data's "
                          "fingerprint")
    hidden: list[str] = Field(
        default_factory=list,
        description="files or folders, relative to the rubric file, that stay with the grader "
                    "(held-out labels): never copied; reference functions with a `data` parameter "
                    "open them with `data.course_file(\"hidden/y.csv\")`")


class Rubric(Strict):
    assignment: str = Field(description="short name: the default output folder grades/<assignment>"
                                        " and the gradebook's assignment")
    title: str = Field(description="shown in reports")
    reference: str = Field(description="the reference module: a path relative to the rubric file "
                                       "(`reference.py`), or a bare name for a module of the "
                                       "grader's reference/ (`lab9`); loading makes a path absolute")
    handout: str | None = Field(None, description="the blank handout notebook as distributed to "
                                                   "students, relative to the rubric file: tells "
                                                   "cells the student left unchanged")
    data: DataSpec = Field(default_factory=DataSpec, description="what the notebook's folder "
                                                                 "receives (see `data` below)")
    execution: ExecutionSpec = Field(default_factory=ExecutionSpec,
                                     description="time limits (see `execution` below)")
    limits: LimitsSpec = Field(default_factory=LimitsSpec,
                               description="resource limits of the kernel (see `limits` below)")
    due: datetime | None = Field(None, description="the due date and time (ISO 8601, e.g. "
                                 "2026-12-01T23:59:00+00:00; no zone: UTC): `after_due` checks "
                                 "are shown to students from then on")
    forbidden_calls: list[str] = Field(default_factory=list,
                                       description="functions wrapped in the kernel so that hidden "
                                                   "uses are logged at run time (for `forbidden`)")
    questions: list[QuestionSpec] = Field(description="the questions, in the handout's order")
    source_path: str = Field("", exclude=True)  # as given, for messages
    folder: str = Field("", exclude=True)  # the rubric file's real folder: relative paths start here
    sha256: str = Field("", exclude=True)
    _source: SourceMap | None = PrivateAttr(None)

    @property
    def max_score(self) -> float:
        return sum(q.points for q in self.questions)

    @property
    def source(self) -> SourceMap:
        """Where each field is in the rubric file (for messages); a blank map for built rubrics."""
        return self._source or SourceMap(Path(self.source_path or "rubric"), {}, {})

    def question(self, qid: str) -> QuestionSpec:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)


def model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel]:
    """The model that holds the field at `loc` (list indices and union tags skipped)."""
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        inner = nested_model(field.annotation) if field is not None else None
        if inner is not None:
            model = inner
    return model


def _quote_ids(data: dict, source: SourceMap) -> None:
    """`id: 1.10` is the question 1.10, not the number 1.1: take unquoted ids as written."""
    for i, q in enumerate(data.get("questions") or []):
        if isinstance(q, dict) and isinstance(q.get("id"), (int, float)):
            q["id"] = source.plain_text(("questions", i, "id")) or q["id"]


def parse_rubric(text: str, path: Path, folder: Path | None = None) -> Rubric:
    """Parse rubric YAML text against the schema; raises RubricError at file:line:column.

    Relative paths in it start at `folder` (default: the real folder of `path`)."""
    data, source = read_yaml(text, path)
    if not isinstance(data, dict):
        raise RubricError(f"{path}:1:1: a rubric is a YAML mapping with 'assignment', 'title', "
                          "'reference' and 'questions'")
    _quote_ids(data, source)
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:
        raise rubric_error([_schema_problem(e, Rubric, (), source, data)
                            for e in exc.errors()]) from None
    problems = _validate_check_params(rubric, source, data)
    if problems:
        raise rubric_error(problems)
    rubric.source_path = str(path)
    rubric.folder = str(folder or path.resolve().parent)
    rubric.sha256 = hashlib.sha256(text.encode()).hexdigest()
    rubric.reference = resolve_reference(rubric.reference, Path(rubric.folder))
    rubric._source = source
    return rubric


def resolve_reference(written: str, folder: Path) -> str:
    """A reference path relative to the rubric's folder made absolute; a bare name as is."""
    if not is_module_path(written):
        return written
    path = Path(written).expanduser()
    return str(path if path.is_absolute() else folder / path)


def _validate_check_params(rubric: Rubric, source: SourceMap, data: dict) -> list[Problem]:
    """Each check's parameters against its check type's model (unknown types and typos)."""
    problems = []
    for qi, q in enumerate(rubric.questions):
        for ci, c in enumerate(q.checks):
            loc = ("questions", qi, "checks", ci)
            check_type = registry.get(c.type)
            if check_type is None:
                problems.append(source.problem(loc + ("type",), (
                    f"{check_label(q.id, ci, c.name, c.type)}: unknown check type '{c.type}'"
                    f"{did_you_mean(c.type, registry)}; check types: {', '.join(sorted(registry))}")))
                continue
            try:
                c.params = check_type.Params.model_validate(c.params).model_dump()
            except ValidationError as exc:
                problems += [_schema_problem(e, check_type.Params, loc, source, data, c.type)
                             for e in exc.errors()]
    return problems


def check_label(question_id: Any, index: int, name: str, check_type: str) -> str:
    """How every message names a check: "question 1.2, check 3 'its name' (its type)"."""
    shown = f" '{name}'" if name else ""
    return f"question {question_id}, check {index + 1}{shown} ({check_type})"


def field_path(parts: tuple) -> str:
    """A YAML path as rubric authors write it: `expected[0].fn`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def where(loc: tuple, data: Any) -> str:
    """"question 1.2" or "question 1.2, check 3 'name' (type)" for a location in a question."""
    if len(loc) < 2 or loc[0] != "questions" or not isinstance(loc[1], int):
        return ""
    question = _item(data, loc[:2])
    qid = question.get("id", loc[1] + 1) if isinstance(question, dict) else loc[1] + 1
    if len(loc) >= 4 and loc[2] == "checks" and isinstance(loc[3], int):
        check = _item(data, loc[:4])
        check = check if isinstance(check, dict) else {}
        return check_label(qid, loc[3], str(check.get("name", "")), str(check.get("type", "?")))
    return f"question {qid}"


def _item(data: Any, loc: tuple) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _schema_problem(err: dict, model: type[BaseModel], prefix: tuple, source: SourceMap,
                    data: dict, check_type: str = "") -> Problem:
    """A pydantic error as a sentence at the place of the field at fault, with a suggestion."""
    loc = prefix + tuple(err["loc"])
    path = _yaml_parts(loc, source)
    context = _context_length(path)
    field = field_path(path[context:])
    kind, msg, given = err["type"], err["msg"].removeprefix("Value error, "), err.get("input")
    if kind in ("extra_forbidden", "missing"):
        field = field_path(path[context:-1])
        holder = model_at(model, tuple(err["loc"])[:-1])
        own = bool(check_type) and holder is model
        allowed = [*(CHECK_FIELDS if own else ()), *holder.model_fields]
        name, noun = str(loc[-1]), "parameter" if check_type else "field"
        msg = (f"unknown {noun} '{name}'{did_you_mean(name, allowed)}; "
               f"{f'{check_type} takes' if own else 'allowed'}: "
               f"{', '.join(a for a in allowed if a not in INTERNAL_FIELDS)}"
               if kind == "extra_forbidden" else
               f"'{name}' is required" + (f" by {check_type}" if own else ""))
    elif kind in ("less_than_equal", "less_than") and isinstance(given, (int, float)):
        bound = (err.get("ctx") or {}).get("le", (err.get("ctx") or {}).get("lt"))
        msg = f"{given:g} is out of range: {msg.lower().removeprefix('input ')}"
        if bound == 1 and 1 < given <= 100:
            msg += f" (a fraction: did you mean {given / 100:g}?)"
    elif kind == "literal_error" and isinstance(given, str):
        expected = str((err.get("ctx") or {}).get("expected", ""))
        options = [o.strip(" '") for o in expected.replace(" or ", ", ").split(",")]
        msg = f"'{given}' is not allowed{did_you_mean(given, options)}: {msg.lower()}"
    elif isinstance(given, (str, int, float, bool)) and repr(given) not in msg:
        msg = f"{msg} (got {given!r})"
    head = ": ".join(part for part in (where(path, data), field) if part)
    return source.problem(loc, f"{head}: {msg}" if head else msg)


def _context_length(path: tuple) -> int:
    """How much of a YAML path `where()` already names: the question (2) or the check (4)."""
    if len(path) >= 4 and path[0] == "questions" and path[2] == "checks":
        return 4
    return 2 if len(path) >= 2 and path[0] == "questions" else 0


def _yaml_parts(loc: tuple, source: SourceMap) -> tuple:
    """A pydantic location as a path in the YAML: without `params` and union tags ('list[str]')."""
    path: tuple = ()
    for i, part in enumerate(loc):
        if part != "params" and (source.has((*path, part)) or i == len(loc) - 1):
            path = (*path, part)
    return path


def load_rubric(path: Path) -> Rubric:
    """Read a rubric file and check it against the schema."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RubricError(f"{path}: cannot read rubric: {exc.strerror}") from None
    return parse_rubric(text, path)
