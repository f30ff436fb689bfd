"""The grader imports torch only for rubrics whose checks call reference code that uses it."""

from __future__ import annotations

from pathlib import Path

from answers import rubric_1_1

from grader.expected import load_reference_module, named_functions, uses_torch
from grader.rubric import load_rubric, parse_rubric

RUBRICS = Path(__file__).resolve().parents[1] / "rubrics"


def needs_torch(rubric) -> bool:
    module = load_reference_module(rubric.reference)
    return uses_torch(module, [n for q in rubric.questions for c in q.checks
                               for n in named_functions(c.params, module)])


def test_lab9_checks_call_torch_code_so_the_grader_imports_it_while_the_kernel_runs() -> None:
    assert needs_torch(load_rubric(RUBRICS / "lab9.yaml"))


def test_a_numpy_only_question_never_imports_torch_in_the_grader(tmp_path: Path) -> None:
    assert not needs_torch(parse_rubric(rubric_1_1(), tmp_path / "rubric.yaml"))
