"""Student-safe feedback: reference values are secret spans every check writes and the student's
form drops; hidden and after_due checks; `grade release` writes nothing a student may not read.
Fast: checks scored on made-up answers with a stand-in reference, results from the golden verdicts."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner
from golden_results import golden_result, rubric_of
from test_ledger import record

from grader.checks import registry
from grader.checks.accuracy import required_accuracy
from grader.checks.base import OpResult, ScoreContext
from grader.cli import main
from grader.manual import record_manual, record_override
from grader.results import CheckOutcome, SectionRecord
from grader.secret import instructor_text, scrub_paths, secret, student_text
from grader.store import Gradebook, Provenance
from grader.student_view import student_check

REF_LOSS, REF_TRACE_LOSS = 0.311437, 0.287651


class StandIn:
    """A reference module stand-in: named functions, no failures."""

    def __init__(self, **fns) -> None:
        self.fns, self.failures = fns, []

    def call(self, name, *args, cache=True, **kw):
        return self.fns[name](*args, **kw)


def scored(check_type: str, params: dict, results: list[OpResult], reference: StandIn,
           stdout: str = "", state: dict | None = None):
    check = registry[check_type]
    p = check.Params.model_validate(params)
    section = SectionRecord("1", [0], stdout=stdout, executed=True)
    ctx = ScoreContext("1", reference, SimpleNamespace(full_mnist=False), section, [], {},
                       state or {})
    return check.score(p, ctx, results)


# -- grader/secret.py --------------------------------------------------------------------------
def test_student_form_drops_the_secret_span_and_the_instructor_form_keeps_it() -> None:
    message = "loss 0.3201" + secret(" (reference 0.3114)") + "; weights differ"
    assert student_text(message) == "loss 0.3201; weights differ"
    assert instructor_text(message) == "loss 0.3201 (reference 0.3114); weights differ"


def test_a_marker_inside_secret_text_cannot_end_the_span_early() -> None:
    message = secret("reference \ue001 0.3114 (from /work/main/reference/lab9.py)")
    assert student_text(message) == ""


@pytest.mark.parametrize(("text", "shown"), [
    ("cannot read /work/main/submissions/alice.ipynb: gone", "cannot read alice.ipynb: gone"),
    ('File /tmp/pytest-of-root/x/site-packages/torch/nn.py:12', "File nn.py:12"),
    ("saved to /root/.cache/nbgrade/cal.json", "saved to cal.json"),
    ("1/2 of a ratio and 3/4", "1/2 of a ratio and 3/4"),
])
def test_paths_of_the_grading_machine_are_reduced_to_file_names(text: str, shown: str) -> None:
    assert scrub_paths(text) == shown


# -- every check that states a reference value -------------------------------------------------
def test_trained_module_reference_loss_is_secret() -> None:
    ref = StandIn(ref=lambda: {"params": [np.array([1.0, 2.0])], "final_loss": REF_LOSS},
                  loss=lambda params: 0.35)
    results = [OpResult(True, {"modules": [{"name": "m", "param_shapes": [[2]],
                                             "params": [[1.5, 2.0]]}]})]
    verdict = scored("trained_module", {"reference": "ref", "loss": "loss"}, results, ref)
    assert not verdict.passed and f"{REF_LOSS:.4f}" in instructor_text(verdict.message)
    said = student_text(verdict.message)
    assert "loss 0.3500" in said and f"{REF_LOSS:.4f}" not in said and "0.5" not in said


def test_printed_trace_reference_losses_are_secret_pass_and_fail() -> None:
    ref = StandIn(trace=lambda: {"trace": [(1, REF_TRACE_LOSS), (2, REF_LOSS)]})
    failing = scored("printed_trace", {"expected": "trace"}, [], ref,
                     stdout="Epoch 1 had training loss 0.5000\nEpoch 2 had training loss 0.4\n")
    passing = scored("printed_trace", {"expected": "trace"}, [], ref,
                     stdout=f"Epoch 1 loss {REF_TRACE_LOSS:.4f}\nEpoch 2 loss {REF_LOSS:.4f}\n")
    none = scored("printed_trace", {"expected": "trace"}, [], ref, stdout="nothing")
    assert (failing.passed, passing.passed, none.passed) == (False, True, False)
    for verdict in (failing, passing, none):
        said = student_text(verdict.message)
        assert f"{REF_TRACE_LOSS:.4f}" not in said or verdict.passed is False and "0.5000" in said
    assert "differs from the reference" in student_text(failing.message)
    assert f"{REF_TRACE_LOSS:.4f}" not in student_text(failing.message)
    assert f"{REF_LOSS:.4f}" not in student_text(passing.message)
    assert f"{REF_TRACE_LOSS:.4f}" not in student_text(none.message)


def test_module_outputs_reference_outputs_are_secret() -> None:
    ref = StandIn(expected=lambda shapes: np.array([0.8123, 0.1877]), batch=lambda: np.zeros(2))
    results = [OpResult(True, {"output": [0.5, 0.5]}),
               OpResult(True, {"kind": "module", "module": {"param_shapes": [[2]]}})]
    verdict = scored("module_outputs", {"artifact": "m", "expected": "expected",
                                         "inputs": "batch"}, results, ref)
    assert not verdict.passed and "0.812" in instructor_text(verdict.message)
    assert "0.812" not in student_text(verdict.message)
    assert "0.500, 0.500" in student_text(verdict.message)


def test_value_matches_difference_and_convention_are_secret() -> None:
    from test_checks_unit import score_value_matches

    from reference.lab9 import synthetic_data
    X = synthetic_data()[0].copy()
    X[3, 0, :] += 0.123456
    said = score_value_matches("X", [], {"X": X})
    assert "largest difference 0.123" in said
    assert "largest difference" not in student_text(said.removeprefix("FAIL "))


def test_calibrated_threshold_hides_the_reference_accuracies(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ref = StandIn(acc=lambda seed: [0.9312, 0.9287, 0.9345][seed])
    check = registry["heldout_accuracy"]
    p = check.Params.model_validate({"threshold": 0.99, "calibrate": {"reference": "acc"}})
    ctx = SimpleNamespace(data=SimpleNamespace(full_mnist=False), reference=ref)
    from grader.checks import accuracy

    monkeypatch.setattr(accuracy, "reference_accuracies", lambda c, r: [
        r.call(c.reference, seed=s) for s in range(c.seeds)])
    need, rule = required_accuracy(p, ctx)
    assert round(need, 4) == 0.8987 and "0.931" in instructor_text(rule)
    assert student_text(rule) == "needs >= 0.899"


def test_class_predictions_acceptable_labels_are_secret() -> None:
    ref = StandIn(ok=lambda: [{1}, {2, 3}])
    results = [OpResult(True, {"steps": [None, [7, 2]]})]
    verdict = scored("class_predictions", {
        "cls": "KNN", "steps": [{"method": "fit", "args": []},
                                {"method": "predict", "args": [], "keep": True}],
        "inputs": "inputs", "acceptable": "ok"}, results, ref, state={"inputs": {}})
    assert not verdict.passed and "acceptable [1]" in instructor_text(verdict.message)
    assert "acceptable" not in student_text(verdict.message).split("wrong")[1]


# -- the score stage keeps both forms; hidden and after_due --------------------------------------
def test_grader_problem_cause_is_the_instructors_only() -> None:
    from grader.score import STUDENT_GRADER_PROBLEM

    c = CheckOutcome("x", False, "course/reference.py: f raised IndexError", 0, 2,
                     grader_problem=True, student_message=STUDENT_GRADER_PROBLEM)
    assert "reference.py" not in student_check(c, False).message


def test_hidden_check_shows_only_that_it_failed_and_its_hint() -> None:
    c = CheckOutcome("KNN handles ties", False, "predicted 3, acceptable [1]", 0, 2,
                     student_message="predicted 3", visibility="hidden",
                     hint="test your KNN on points with tied distances")
    shown = student_check(c, show_after_due=True)
    assert (shown.name, shown.message) == (
        "hidden check", "a hidden check failed: test your KNN on points with tied distances")


def test_after_due_check_is_hidden_until_the_due_date(tmp_path: Path) -> None:
    from grader.ledger import ledger_for_result
    from grader.student_view import student_report

    result = golden_result("bob")
    q = result.questions[2]
    q.checks[0] = replace(q.checks[0], visibility="after_due", student_message="weights differ")
    result = replace(result, due="2026-12-01T23:59:00+00:00")
    ledger = ledger_for_result(result)
    before = student_report(result, ledger, now=datetime(2026, 12, 1, tzinfo=UTC))
    after = student_report(result, ledger, now=datetime(2026, 12, 2, tzinfo=UTC))
    forced = student_report(result, ledger, after_due=True,
                            now=datetime(2026, 11, 1, tzinfo=UTC))
    assert before.questions[2].checks[0].hidden
    assert after.questions[2].checks[0].message == "weights differ"
    assert not forced.questions[2].checks[0].hidden


# -- grade release ------------------------------------------------------------------------------
SECRETS = {"alice": "0.311437", "bob": "0.287651", "erin": "0.917342"}


def secret_laden(name: str):
    """A golden result whose check sentences carry a reference value in a secret span, whose
    notebook path and errors name the grading machine's folders, and one hidden check."""
    result = golden_result(name)
    for q in result.questions:
        q.checks = [replace(c, message=instructor_text(c.message + secret(f" (ref {SECRETS[name]})")),
                            student_message=student_text(c.message + secret(f" (ref {SECRETS[name]})")))
                    for c in q.checks]
        if q.section is not None:
            q.section.stdout = f"saved to {Path.home()}/x.npz and /tmp/run/y.npz\n"
    result.questions[0].checks[0] = replace(result.questions[0].checks[0], visibility="hidden",
                                            hint="look at the seed", name="secret-check-name")
    return result


def test_release_writes_nothing_a_student_may_not_read(tmp_path: Path) -> None:
    out, to = tmp_path / "out", tmp_path / "released"
    with Gradebook(out) as gradebook:
        for name in SECRETS:
            gradebook.record_result(secret_laden(name), "sha", Provenance("r", "s", "v"))
    record_manual(out, "alice", "1.4", 6, "good", "ta1")
    record_override(out, "bob", "1.3", 20, "regrade", "prof")
    done = CliRunner().invoke(main, ["release", str(out), "--to", str(to)])
    assert done.exit_code == 0, done.output
    files = sorted(p for p in to.rglob("*") if p.is_file())
    assert [p.relative_to(to).as_posix() for p in files] == [
        f"{s}/{f}" for s in sorted(SECRETS) for f in ("results.json", "student.html")]
    forbidden = [out.as_posix(), tmp_path.as_posix(), "/tmp/", "/work/", str(Path.home()),
                 "secret-check-name"]
    for name in SECRETS:
        rubric = rubric_of(name)
        forbidden += [q.manual.model_answer for q in rubric.questions if q.manual]
        forbidden += [q.manual.instructions for q in rubric.questions if q.manual]
    for path in files:
        text = path.read_text()
        student = path.parent.name
        assert path.name == "results.json" or student in text
        for other in set(SECRETS) - {student}:
            assert other not in text, (path, other)
        for value in SECRETS.values():
            assert value not in text, (path, value)
        for words in forbidden:
            assert words[:60] not in text, (path, words[:60])
    alice = (to / "alice/student.html").read_text()
    assert "a hidden check passed" in alice and "6/8 points awarded by ta1: good" in alice
    assert "Notebook alice.ipynb" in alice and "x.npz" in alice
    bob = json.loads((to / "bob/results.json").read_text())
    assert bob["tests"][2]["status"] == "passed" and "regrade" in bob["tests"][2]["output"]


def test_release_refuses_to_write_into_the_graded_folder(tmp_path: Path) -> None:
    record(tmp_path, "alice")
    done = CliRunner().invoke(main, ["release", str(tmp_path), "--to", str(tmp_path)])
    assert done.exit_code == 2 and "is the graded folder itself" in done.output


def test_gradescope_file_of_a_run_is_the_students_form(tmp_path: Path) -> None:
    with Gradebook(tmp_path) as gradebook:
        gradebook.record_result(secret_laden("bob"), "sha", Provenance("r", "s", "v"))
        from grader.outputs import write_student_outputs
        write_student_outputs(gradebook, tmp_path, "bob")
    text = (tmp_path / "gradescope/bob/results.json").read_text()
    assert SECRETS["bob"] not in text and "secret-check-name" not in text
    assert SECRETS["bob"] in (tmp_path / "bob.html").read_text()  # the instructor's: everything


def test_the_student_form_leaves_the_rest_of_the_sentence_as_written() -> None:
    assert student_text("KNN().fit(...): 3 of 5 wrong" + secret(" (acceptable [1])")) == \
        "KNN().fit(...): 3 of 5 wrong"
    assert student_text("printed loss 0.5 differs" + secret(", ref 0.3") + "; see the trace") == \
        "printed loss 0.5 differs; see the trace"
    assert student_text("a" + secret("x") + "b") == "a b"
