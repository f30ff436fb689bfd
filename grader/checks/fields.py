"""Declaring check parameters that name things: reference functions and the notebook's artifacts.

`reference_function(...)` and `artifact_name(...)` are pydantic `Field(...)`s with a marker in their
JSON schema extra. Checks do not read the markers; `marked_fields(Params, values)` finds them in a
check's validated parameters for grader/validate.py (reference functions exist and accept the
arguments the check passes), grader/solution.py (the solution binds every artifact) and
grader/rubric_doc.py (docs/rubrics.md).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field


def reference_function(description: str, default: Any = ..., *, args: str | list[str] = "",
                       fixed: int = 0, keywords: str = "", any_keywords: bool = False,
                       default_from: str = "") -> Any:
    """A parameter naming a function of the reference module, and how the check calls it.

    The call is `fn(*<list field args>, <fixed more positional>, **{name: ... for name in <list
    field keywords>})`; `args` may list fields to try in order (the first one set counts);
    `any_keywords`: more keyword arguments the rubric does not name; `default_from`: when the
    parameter is not set, the function named by that other field is called. A function with a
    `data` parameter also receives the data bundle. grader/validate.py checks each against the
    reference module before anyone is graded.
    """
    call = {"args": [args] if isinstance(args, str) and args else list(args or []),
            "fixed": fixed, "keywords": keywords, "any_keywords": any_keywords,
            "default_from": default_from}
    return Field(default, description=description, json_schema_extra={"reference": call})


def artifact_name(description: str, default: Any = ...) -> Any:
    """A parameter naming something the notebook defines by the end of the question's section
    (`*`-names such as `*section` are wildcards); grader/solution.py checks the solution binds it."""
    return Field(default, description=description, json_schema_extra={"artifact": True})


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (`list[Spec]`, `Spec | None`), if there is one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, tuple, dict, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = nested_model(arg)
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class MarkedField:
    """A parameter with a marker, its value, the values beside it, and where it is."""

    name: str
    marks: dict[str, Any]  # {"reference": {...}} or {"artifact": True}
    value: Any
    siblings: dict[str, Any]  # the other parameters of the same model (a call's arguments)
    loc: tuple  # YAML path, relative to the check
    path: str  # as rubric authors write it: "expected[0].fn"


def marked_fields(model: type[BaseModel], values: dict[str, Any], loc: tuple = (),
                  path: str = "") -> Iterator[MarkedField]:
    """Every marked parameter in a check's parameter values, nested models included."""
    for name, info in model.model_fields.items():
        value = values.get(name)
        marks = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if marks:
            yield MarkedField(name, marks, value, values, (*loc, name), f"{path}{name}")
        inner = nested_model(info.annotation)
        if inner is not None and isinstance(value, dict):
            yield from marked_fields(inner, value, (*loc, name), f"{path}{name}.")
        elif inner is not None and isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    yield from marked_fields(inner, item, (*loc, name, i), f"{path}{name}[{i}].")
