"""The typed records that pass between the stages, and the JSON result contract.

execute -> capture produces `ExecutionRecord` (what each cell did) and `Capture` (plain data per question);
checks produce `CheckOutcome`; score.py folds them into `QuestionResult` and `GradeResult`, which
report/ and store.py render and persist. Everything here is plain data: no student objects, no torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["pass", "partial", "fail", "error", "manual", "grader_error"]
GRADER_ERROR: Status = "grader_error"  # the rubric's, reference's or grader's problem: not counted
GRADER_PROBLEM = "grader problem, not the notebook's (left out of the score until fixed): "


@dataclass(frozen=True)
class CellProgress:
    """Where one notebook's execution is: sent to `GradeConfig.on_progress` before each cell runs."""

    student: str
    question_id: str  # '' before the first question's section
    cell: int  # the cell's position in the notebook
    done: int  # code cells started so far, this one included (replays not counted)
    total: int  # code cells of the notebook


@dataclass(frozen=True)
class CellError:
    """An exception a student cell raised (or a timeout / dead kernel attributed to that cell)."""

    cell_index: int
    ename: str
    evalue: str
    traceback: str  # ANSI-stripped text
    source: str  # the cell's source, for the report
    expected: str = ""  # why an unchanged handout cell raising here costs nothing (grader/handout.py)


@dataclass
class Figure:
    """A figure a section displayed, as a PNG (base64) for the report."""

    cell_index: int
    png_base64: str


@dataclass
class SectionRecord:
    """What executing one question's section did."""

    question_id: str
    cell_indices: list[int]
    errors: list[CellError] = field(default_factory=list)
    stdout: str = ""
    figures: list[Figure] = field(default_factory=list)
    markdown: list[str] = field(default_factory=list)  # student's written answers (markdown cells)
    figure_summaries: list[dict] = field(default_factory=list)  # what the kernel saw of each figure
    note: str = ""  # e.g. the heading was not found
    seconds: float = 0.0
    executed: bool = False  # False when the kernel died or the notebook timed out before it
    not_run_reason: str = ""
    # the section's code cells, for reviewers (a tuple: executions cached before it still load)
    code: tuple[str, ...] = ()

    @property
    def student_errors(self) -> list[CellError]:
        """The errors that are the student's: not those expected with the grading data."""
        return [e for e in self.errors if not e.expected]


@dataclass
class CheckOutcome:
    """One check's verdict with the human sentence it printed."""

    name: str
    passed: bool
    message: str
    points: float  # points earned
    max_points: float
    informational: bool = False  # 0-point notes ("softmax modifies its argument in place")
    note: bool = False  # full marks, with a note on a difference that costs nothing
    grader_problem: bool = False  # the grader's fault: excluded from points and maximum
    student_message: str = ""  # `message` without reference values or paths (grader/secret.py)
    visibility: str = "visible"  # the rubric's: visible, hidden, after_due
    hint: str = ""  # the rubric's sentence for a student when a hidden check fails


@dataclass
class QuestionResult:
    id: str
    title: str
    status: Status
    points: float
    max_points: float
    checks: list[CheckOutcome]
    manual_points: float = 0.0  # the manual part's maximum; `points` never includes it
    model_answer: str = ""
    section: SectionRecord | None = None
    not_attempted: bool = False  # the section's code is the handout's, unchanged (handout.py)
    manual_instructions: str = ""  # what the reviewer looks for (the rubric's)


@dataclass(frozen=True)
class ManualGrade:
    """Points a person awarded for a question's manual part (gradebook table `manual_grades`)."""

    student: str
    question: str
    points: float
    comment: str
    grader: str
    at: str  # ISO 8601, UTC
    max_points: float = 0.0  # the manual part's maximum when it was graded (0: unknown)


@dataclass(frozen=True)
class Override:
    """A person's decision on a whole question's points, with why (gradebook table `overrides`).
    A `removed` entry withdraws the override before it."""

    student: str
    question: str
    points: float
    reason: str
    grader: str
    at: str  # ISO 8601, UTC
    removed: bool = False


@dataclass
class GradeResult:
    assignment: str
    student: str
    notebook: str
    notebook_sha256: str
    score: float
    max_score: float
    pending_manual: float
    questions: list[QuestionResult]
    environment: dict[str, Any]
    data: dict[str, Any]  # which data profile, sizes, thresholds used
    seconds: float
    fatal: str = ""  # set when the notebook could not be graded at all (unreadable, no kernel)
    notes: list[str] = field(default_factory=list)  # e.g. errors before the first question
    due: str = ""  # the rubric's due date (ISO 8601), for `after_due` checks
    # where the time went, in order, seconds per stage: "provision", "sandbox start", "kernel
    # start", "kernel setup", "cell 3", "capture 1.2", "reference train_conv1d", "score"
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def grader_problems(self) -> list[tuple[str, str]]:
        """(question id, why) of every question left out of the score as a grader problem."""
        return [(q.id, next((c.message.removeprefix(GRADER_PROBLEM) for c in q.checks
                             if c.grader_problem), ""))
                for q in self.questions if q.status == GRADER_ERROR]

    def to_json_dict(self) -> dict[str, Any]:
        """The documented result contract (README, "Result JSON")."""
        return {
            "assignment": self.assignment,
            "student": self.student,
            "notebook": self.notebook,
            "notebook_sha256": self.notebook_sha256,
            "score": round(self.score, 4),
            "max_score": self.max_score,
            "pending_manual": self.pending_manual,
            "fatal": self.fatal,
            "notes": self.notes,
            "grader_problems": [{"question": qid, "message": message}
                                for qid, message in self.grader_problems],
            "seconds": round(self.seconds, 3),
            "questions": [
                {
                    "id": q.id,
                    "title": q.title,
                    "status": q.status,
                    "points": round(q.points, 4),
                    "max_points": q.max_points,
                    "manual_points": q.manual_points,
                    "checks": [
                        {
                            "name": c.name,
                            "passed": c.passed,
                            "message": c.message,
                            "points": round(c.points, 4),
                            "max_points": c.max_points,
                            "note": c.note,
                            "grader_problem": c.grader_problem,
                            "student_message": c.student_message,
                            "visibility": c.visibility,
                            "hint": c.hint,
                        }
                        for c in q.checks
                    ],
                    "errors": [asdict(e) for e in (q.section.errors if q.section else [])],
                }
                for q in self.questions
            ],
            "data": self.data,
            "environment": self.environment,
            "timings": {stage: round(seconds, 4) for stage, seconds in self.timings.items()},
        }
