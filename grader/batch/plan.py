"""Plan: per student, skip, execute or re-score from the cached execution; and the re-score rule.

A submission is skipped when its notebook, the rubric, the grader version and the settings (data,
time limits, sandbox, the reference module's source) are unchanged since its gradebook row.

The re-score rule (`grade --rescore`): a cached execution can be scored against a new rubric when
 - the notebook file is byte-identical (same sha256),
 - the execution settings are equal: the rubric's reference module, data layouts, execution time
   limits, resource limits, forbidden calls and the list of (question id, heading) pairs (sections are
   cut at headings), plus the data's fingerprint, --cell-timeout, --notebook-timeout and the sandbox;
 - every question's *plan* is equal: its heading and its checks in order, each as its type and
   parameters with the score-only fields (`SCORE_ONLY_FIELDS`, at any depth) removed.
Anything else a check says may change what is asked of the notebook, so it counts as a change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from grader import __version__ as GRADER_VERSION
from grader.batch.discover import BatchInputError, Submission
from grader.cache import ExecutionCache
from grader.expected import reference_file
from grader.rubric import QuestionSpec, Rubric
from grader.store import Gradebook, SubmissionRow

NO_CACHE = "no cached execution (never executed into this --out folder, or the grader failed on it)"

SCORE_ONLY_FIELDS = frozenset({
    "points", "name", "threshold", "tiers", "min", "max", "atol", "rtol", "margin", "weight_atol",
    "loss_rtol", "requires",
})
"""Check fields that change how captured data is scored, never what is captured."""


def _without_score_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_score_fields(v) for k, v in sorted(value.items())
                if k not in SCORE_ONLY_FIELDS}
    if isinstance(value, list | tuple):
        return [_without_score_fields(v) for v in value]
    return value


def question_plan(question: QuestionSpec) -> dict[str, Any]:
    """What a question asks of a notebook: its heading and its checks minus score-only fields."""
    return {
        "heading": question.heading,
        "checks": [{"type": c.type, "params": _without_score_fields(c.params)}
                   for c in question.checks],
    }


def _sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def plan_signatures(rubric: Rubric) -> dict[str, str]:
    """Question id -> sha256 of its plan (see the module docstring)."""
    return {q.id: _sha(question_plan(q)) for q in rubric.questions}


def execution_key(rubric: Rubric, data_fingerprint: str, cell_timeout: float | None,
                  notebook_timeout: float | None, confine: bool) -> dict[str, Any]:
    """Everything outside the questions' checks that shapes what an execution captured."""
    return {
        "reference": rubric.reference,
        "data": rubric.data.model_dump(),
        "execution": rubric.execution.model_dump(),
        "limits": rubric.limits.model_dump(),
        "forbidden_calls": list(rubric.forbidden_calls),
        "sections": [[q.id, q.heading] for q in rubric.questions],
        "data_fingerprint": data_fingerprint,
        "cell_timeout": cell_timeout,
        "notebook_timeout": notebook_timeout,
        "sandbox": confine,
    }


def reference_source_sha256(locator: str) -> str:
    """sha256 of the reference module's file (reference/<name>.py, or the rubric's own file)."""
    try:
        return hashlib.sha256(reference_file(locator).read_bytes()).hexdigest()
    except OSError:
        return ""


def settings_sha256(key: dict[str, Any], reference_sha256: str) -> str:
    """What, besides notebook, rubric and grader version, must be unchanged to skip a student."""
    return _sha({"execution": key, "reference_source": reference_sha256})


def describe_plan_change(qid: str, old: dict[str, Any] | None, new: dict[str, Any],
                         names: list[str]) -> str:
    """One sentence saying how a question's plan changed (`names`: the new checks' names)."""
    if old is None:
        return f"question {qid} is new in the rubric"
    if old["heading"] != new["heading"]:
        return f"question {qid}: the heading changed ('{old['heading']}' -> '{new['heading']}')"
    if len(old["checks"]) != len(new["checks"]):
        return (f"question {qid}: it has {len(new['checks'])} checks, the executions were "
                f"captured for {len(old['checks'])}")
    for i, (a, b) in enumerate(zip(old["checks"], new["checks"], strict=True)):
        label = f"check {i + 1}" + (f" '{names[i]}'" if i < len(names) and names[i] else "")
        if a["type"] != b["type"]:
            return f"question {qid}, {label}: type changed ({a['type']} -> {b['type']})"
        keys = sorted(k for k in set(a["params"]) | set(b["params"])
                      if a["params"].get(k) != b["params"].get(k))
        if keys:
            return f"question {qid}, {label}: {', '.join(keys)} changed"
    return f"question {qid}: its plan changed"


def describe_key_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    words = {
        "sections": "the rubric's questions or headings (sections are cut at headings)",
        "data_fingerprint": "the data (--data / --train-limit)",
        "sandbox": "the sandbox setting",
    }
    return "the execution settings changed: " + ", ".join(words.get(k, k) for k in keys)




def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


Action = Literal["skip", "execute", "rescore"]


@dataclass
class Planned:
    submission: Submission
    action: Action
    previous: SubmissionRow | None = None


def plan_batch(submissions: list[Submission], gradebook: Gradebook, cache: ExecutionCache,
               rubric: Rubric, key: dict, settings_sha: str, *, force: bool,
               rescore: bool) -> list[Planned]:
    """Decide per submission: skip, execute or re-score; refuse a re-score that is not possible."""
    planned: list[Planned] = []
    problems: dict[str, list[str]] = {}
    plans = {q.id: question_plan(q) for q in rubric.questions}
    for sub in submissions:
        previous = gradebook.submission(sub.student)
        if rescore:
            why = rescore_problems(sub, cache, key, plans, rubric)
            if not why:
                planned.append(Planned(sub, "rescore", previous))
                continue
            if not force:
                for sentence in why:
                    problems.setdefault(sentence, []).append(sub.student)
            planned.append(Planned(sub, "execute", previous))
            continue
        unchanged = (previous is not None and not force and not previous.grader_error
                     and previous.notebook_sha256 == file_sha256(sub.path)
                     and previous.rubric_sha256 == rubric.sha256
                     and previous.grader_version == GRADER_VERSION
                     and previous.settings_sha256 == settings_sha)
        planned.append(Planned(sub, "skip" if unchanged else "execute", previous))
    if problems:
        lines = []
        for sentence, students in problems.items():
            who = ", ".join(students[:5]) + (f" and {len(students) - 5} more"
                                             if len(students) > 5 else "")
            lines.append(f"  {sentence} ({who})")
        raise BatchInputError(
            "cannot re-score from the cached executions:\n" + "\n".join(lines) + "\n"
            "Run without --rescore to execute the notebooks again, or add --force to re-execute "
            "only these and re-score the rest.")
    return planned


def rescore_problems(sub: Submission, cache: ExecutionCache, key: dict,
                     plans: dict[str, dict], rubric: Rubric) -> list[str]:
    """Why this submission's cached execution cannot be scored against `rubric` ([] if it can)."""
    header = cache.header(sub.student)
    if header is None:
        return [NO_CACHE]
    if header.notebook_sha256 != file_sha256(sub.path):
        return ["the notebook changed since it was executed"]
    if header.execution_key != key:
        return [describe_key_change(header.execution_key, key)]
    out = []
    for q in rubric.questions:
        old = header.plans.get(q.id)
        if old != plans[q.id]:
            out.append(describe_plan_change(q.id, old, plans[q.id], [c.name for c in q.checks]))
    return out
