"""docs/rubrics.md is generated from the code; this fails when the two disagree.

Regenerate with `python -m grader.rubric_doc > docs/rubrics.md`.
"""

from __future__ import annotations

from pathlib import Path

from grader.checks import registry
from grader.rubric import INTERNAL_FIELDS, Rubric
from grader.rubric_doc import nested_models, render

DOC = Path(__file__).resolve().parents[1] / "docs" / "rubrics.md"


def test_rubric_reference_matches_the_code() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/rubrics.md is stale: run `python -m grader.rubric_doc > docs/rubrics.md`")


def test_every_parameter_of_every_check_type_says_what_it_means() -> None:
    undocumented = [f"{name}.{field}" for name, check in sorted(registry.items())
                    for model in (check.Params, *(m for _, m in nested_models(check.Params)))
                    for field, info in model.model_fields.items() if not info.description]
    undocumented += [f"rubric.{field}" for model in (Rubric, *(m for _, m in nested_models(Rubric)))
                     for field, info in model.model_fields.items()
                     if not info.description and field not in INTERNAL_FIELDS]
    assert undocumented == [], "add Field(description=...) to: " + ", ".join(undocumented)


def test_every_check_type_has_an_example_from_a_shipped_rubric() -> None:
    doc = render()
    assert "No example in the shipped rubrics yet." not in doc
    assert all(f"### `{name}`" in doc for name in registry)
