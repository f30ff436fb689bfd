"""The rubric reference, docs/rubrics.md, generated from the code: schema models -> Markdown text.

`render()` walks the rubric's own models (grader/rubric.py) and every registered check type's
`Params` (grader/checks/*.py): each field's name, type, default and `Field(description=...)`, whether
it names a reference function or an artifact; and, per check type, its first use in the shipped
rubrics as an example. `python -m grader.rubric_doc > docs/rubrics.md` regenerates the file;
tests/test_rubric_doc.py fails when the file and the code disagree.
"""

from __future__ import annotations

import json
import textwrap
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_jsonable_python

from grader.checks import registry
from grader.rubric import (
    CHECK_FIELDS,
    INTERNAL_FIELDS,
    CheckSpec,
    DataSpec,
    ExecutionSpec,
    LimitsSpec,
    ManualSpec,
    QuestionSpec,
    Rubric,
    nested_model,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_RUBRICS = ("rubrics/lab9.yaml", "rubrics/hw2.yaml", "tests/fixtures/ridge/rubric.yaml")
INTERNAL = set(INTERNAL_FIELDS)

HEADER = """\
# Rubric reference

Generated from the code by `python -m grader.rubric_doc > docs/rubrics.md`: the rubric's schema
(`grader/rubric.py`) and each check type's parameter model (`grader/checks/*.py`).
`tests/test_rubric_doc.py` fails when this file and the code disagree. How to write a new
assignment: [new-assignment.md](new-assignment.md). Before a rubric grades anyone, run
`grade validate RUBRIC --solution SOLUTION.ipynb`.

Types: `str | list[str]` is either; `T | None` may be left out (null); *required* fields have no
default. A parameter marked **reference function** names a function of the assignment's reference
module (what it is called with is said in its meaning; a function with a `data` parameter also
receives the grader's data bundle); one marked **artifact** names something the notebook defines by
the end of the question's section.
"""


def type_text(annotation: Any) -> str:
    """A field's type as rubric authors read it: `str | list[str]`, `list[ExpectedRef]`."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_text(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return " | ".join(json.dumps(a) for a in typing.get_args(annotation))
    if origin in (list, dict, tuple):
        return f"{origin.__name__}[{', '.join(type_text(a) for a in typing.get_args(annotation))}]"
    if annotation is type(None):
        return "None"
    if annotation is Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


def default_text(info: FieldInfo) -> str:
    if info.is_required():
        return "*required*"
    value = info.default_factory() if info.default_factory is not None else info.default
    if value is PydanticUndefined:
        return "*required*"
    return f"`{json.dumps(to_jsonable_python(value))}`"


def meaning_text(info: FieldInfo) -> str:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    text = (info.description or "").replace("|", "\\|")
    for mark, key in (("reference function", "reference"), ("artifact", "artifact")):
        if extra.get(key):
            text = (f"**{mark}**{text[len(mark):]}" if text.startswith(mark)
                    else f"**{mark}**: {text}")
    bounds = [f"{name} {getattr(m, attr)}" for m in info.metadata
              for name, attr in ((">=", "ge"), (">", "gt"), ("<=", "le"), ("<", "lt"))
              if getattr(m, attr, None) is not None]
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def field_table(model: type[BaseModel], skip: frozenset[str] = frozenset()) -> list[str]:
    rows = ["| field | type | default | meaning |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        if name in INTERNAL or name in skip:
            continue
        shown = type_text(info.annotation).replace("|", "\\|")
        rows.append(f"| `{name}` | `{shown}` | {default_text(info)} | "
                    f"{meaning_text(info)} |")
    return rows


def nested_models(model: type[BaseModel]) -> Iterator[tuple[str, type[BaseModel]]]:
    """(field name, model) of every model nested in `model`'s fields, depth first, once each."""
    seen: set[type[BaseModel]] = set()

    def walk(current: type[BaseModel]) -> Iterator[tuple[str, type[BaseModel]]]:
        for name, info in current.model_fields.items():
            inner = nested_model(info.annotation)
            if inner is not None and inner not in seen:
                seen.add(inner)
                yield name, inner
                yield from walk(inner)

    return walk(model)


def examples() -> dict[str, tuple[str, str]]:
    """Check type -> (file, YAML text) of its first use in the shipped rubrics."""
    found: dict[str, tuple[str, str]] = {}
    for name in EXAMPLE_RUBRICS:
        path = REPO / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text)
        for question in _items(root, "questions"):
            for check in _items(question, "checks"):
                kind = _scalar(check, "type")
                if kind and kind not in found:
                    found[kind] = (name, _node_text(text, check))
    return found


def _items(node: yaml.Node, key: str) -> list[yaml.Node]:
    for k, v in node.value if isinstance(node, yaml.MappingNode) else []:
        if k.value == key and isinstance(v, yaml.SequenceNode):
            return list(v.value)
    return []


def _scalar(node: yaml.Node, key: str) -> str | None:
    for k, v in node.value if isinstance(node, yaml.MappingNode) else []:
        if k.value == key and isinstance(v, yaml.ScalarNode):
            return v.value
    return None


def _node_text(text: str, node: yaml.Node) -> str:
    """A list item's YAML as written, as one `- ...` item at column 0."""
    body = text[node.start_mark.index:node.end_mark.index].rstrip()
    lines = body.splitlines()
    rest = textwrap.indent(textwrap.dedent("\n".join(lines[1:])), "  ") if lines[1:] else ""
    return "- " + lines[0] + ("\n" + rest if rest else "")


def render() -> str:
    """The whole of docs/rubrics.md."""
    out = [HEADER, "## The rubric file", "", *field_table(Rubric), ""]
    for title, model in (("`questions:` items", QuestionSpec), ("`manual:`", ManualSpec),
                         ("`data:`", DataSpec), ("`execution:`", ExecutionSpec),
                         ("`limits:`", LimitsSpec)):
        out += [f"### {title}", "", *field_table(model), ""]
    intro = "Every check has these fields, then the parameters of its type at the same level:"
    out += ["### `checks:` items", "", intro, "", *field_table(CheckSpec), "", "## Check types", ""]
    shown = examples()
    for name in sorted(registry):
        check_type = registry[name]
        doc = (type(check_type).__doc__ or "").strip()
        out += [f"### `{name}`", "", doc, "", *field_table(check_type.Params,
                                                           frozenset(CHECK_FIELDS)), ""]
        for field_name, inner in nested_models(check_type.Params):
            out += [f"`{field_name}` ({inner.__name__}):", "", *field_table(inner), ""]
        if name in shown:
            source, text = shown[name]
            out += [f"Example ({source}):", "", "```yaml", text, "```", ""]
        else:
            out += ["No example in the shipped rubrics yet.", ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
