"""The published result contract (README, "Result JSON"): a `GradeResult` and its `Ledger` -> dict.

`score`, `max_score`, `pending_manual` and each question's `status` and `points` are the ledger's
(grader/ledger.py: people's grades included); `auto_score` and each question's `auto_points` /
`auto_status` are what the checks alone gave.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from grader.ledger import Ledger, QuestionLedger
from grader.results import GradeResult


def _people(q: QuestionLedger) -> dict[str, Any]:
    return {
        "manual_max": q.manual_max,
        "manual_awarded": q.manual_awarded,
        "manual_pending": q.manual_pending,
        "manual": ({k: v for k, v in asdict(q.manual).items() if k not in ("student", "question")}
                   if q.manual is not None else None),
        "override": ({k: v for k, v in asdict(q.override).items()
                      if k not in ("student", "question", "removed")}
                     if q.override is not None else None),
        "ledger_notes": list(q.notes),
    }


def result_json(result: GradeResult, ledger: Ledger) -> dict[str, Any]:
    data = result.to_json_dict()
    data.update(score=ledger.score, max_score=ledger.max_score,
                pending_manual=ledger.pending_manual, auto_score=ledger.auto_score,
                manual_awarded=ledger.manual_awarded)
    by_id = {q.id: q for q in ledger.questions}
    for qd in data["questions"]:
        q = by_id[qd["id"]]
        qd.update(status=q.status, auto_status=q.auto_status, points=q.points,
                  auto_points=round(q.auto_points, 4), max_points=q.max_points,
                  not_attempted=q.status == "not_attempted", **_people(q))
    return data
