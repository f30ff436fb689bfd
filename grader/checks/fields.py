"""Declaring check parameters that name things: reference functions and the notebook's artifacts.

`reference_function(...)` and `artifact_name(...)` are pydantic `Field(...)`s with a marker in their
JSON schema extra. Checks do not read the markers; grader/validate.py (reference functions exist and
accept the arguments the check passes), grader/solution.py (the solution binds every artifact) and
grader/rubric_doc.py (docs/rubrics.md) do.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field


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
