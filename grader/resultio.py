"""A `GradeResult` <-> plain JSON-able data, whole (sections, figures, errors included).

The gradebook keeps each result this way (`submissions.result`) so that reports, CSV and Gradescope
files can be rendered again after a person grades, without executing or re-scoring anything. This is
not the published result contract (that is report/json.py): it is the grader's own storage.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from grader.results import (
    CellError,
    CheckOutcome,
    Figure,
    GradeResult,
    QuestionResult,
    SectionRecord,
)


def result_to_dict(result: GradeResult) -> dict[str, Any]:
    return asdict(result)


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Only the fields `cls` has (a result stored by another grader version may have more)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _section(data: dict[str, Any] | None) -> SectionRecord | None:
    if data is None:
        return None
    d = _known(SectionRecord, data)
    d["errors"] = [CellError(**_known(CellError, e)) for e in d.get("errors", [])]
    d["figures"] = [Figure(**_known(Figure, f)) for f in d.get("figures", [])]
    return SectionRecord(**d)


def result_from_dict(data: dict[str, Any]) -> GradeResult:
    d = _known(GradeResult, data)
    questions = []
    for q in d.get("questions", []):
        qd = _known(QuestionResult, q)
        qd["checks"] = [CheckOutcome(**_known(CheckOutcome, c)) for c in qd.get("checks", [])]
        qd["section"] = _section(qd.get("section"))
        questions.append(QuestionResult(**qd))
    d["questions"] = questions
    return GradeResult(**d)
