"""Lab 9 graded end to end: small notebooks built in code, one kernel each, verdict per question.

Each notebook holds only the cells its questions need and is graded against the rubric cut to those
questions (`rubric_with`). Answers are reused from the example students (submissions/src/lab9/:
alice correct, dan odd but correct) and from tests/answers.py, and varied here. Data: 300 training
digits, so the 2.2 accuracy threshold is the calibrated one. The example notebooks themselves are
graded in test_submissions_grade.py.
"""

from __future__ import annotations

import nbformat
import pytest
from answers import H11, H12, H13, H14, H21, H22, NUMPY_DATA_11, numpy_data_11
from conftest import build_notebook, check_outcome, question, rubric_with, verdicts, write_notebook

from grader.results import GradeResult
from submissions import examples

pytestmark = pytest.mark.kernel  # every test here starts a kernel or a sandbox

ALICE, DAN = examples.answers("lab9", "alice"), examples.answers("lab9", "dan")

# Check names in rubrics/lab9.yaml
X_EQUAL, Y_EQUAL, RULE = ("X equals the seeded data set", "y equals the seeded targets",
                          "shape and labelling rule")
LAYERS, BEHAVIOUR, SEEDED = ("layers as specified", "computes the specified architecture",
                             "seeded untrained predictions")
TRAINED4, TRAINED3, TRACE = ("4-filter model trained as specified",
                             "3-filter model trained as specified", "printed loss trace")
RAN = "plotting code runs"
LOADS, BY_255 = "loads a standard file", "scales by 255, not by the file's maximum"
ACCURACY = "accuracy on held-out digits"

# The loss trace the handout prints for the 4-filter model (reference/lab9.train_conv1d(4)).
TRACE_4 = [(1, 0.5462), (50, 0.3510), (100, 0.2914), (150, 0.1697), (200, 0.0635),
           (250, 0.0318), (300, 0.0205), (350, 0.0153), (400, 0.0125), (450, 0.0107),
           (500, 0.0095)]
PRINTED_TRACE_4 = "".join(f"Epoch {e} had training loss {v:.4f}\n" for e, v in TRACE_4)


IMPORTS = """
    import copy
    import numpy as np
    import torch
    import torch.nn as nn
    """

PLOT_SOMETHING = """
    import matplotlib.pyplot as plt
    plt.matshow(np.arange(12.0).reshape(3, 4))
    plt.show()
    """

# Everything 1.3 builds on, without the 1.1/1.2 headings (graded with a 1.3-only rubric).
PART1_PRELUDE = [("code", IMPORTS), ("code", ALICE["ex11"]), ("code", ALICE["ex12"])]
COPY_UNTRAINED = ("code", examples.given("lab9", "copy_untrained"))

# What 2.2 builds on: the data loaded as 2.1 says.
PART2_PRELUDE = [("code", IMPORTS), ("code", ALICE["ex21"])]


def points(result: GradeResult) -> dict[str, float]:
    return {q.id: q.points for q in result.questions}


@pytest.fixture
def grade_cells(make_notebook, grade, lab9_rubric, small_data):
    """`grade_cells(cells, ["1.2"], **GradeConfig fields)`: build, grade on those questions."""

    def run(cells, ids, **kw) -> GradeResult:
        return grade(make_notebook(cells), rubric_with(lab9_rubric, ids), small_data, **kw)

    return run


# ============================================================================================
# 1.1 – synthetic data
# ============================================================================================


def test_data_from_another_seed_keeps_only_the_rule_points_1_1(grade_cells) -> None:
    r = grade_cells([H11, ("code", numpy_data_11(seed=1))], ["1.1"])
    q = question(r, "1.1")
    assert (q.status, q.points) == ("partial", 4), verdicts(r)
    assert check_outcome(r, "1.1", RULE).passed
    assert "values differ" in check_outcome(r, "1.1", X_EQUAL).message


def test_labels_ignoring_the_size_lose_the_label_points_1_1(grade_cells) -> None:
    r = grade_cells([H11, ("code", numpy_data_11(label="float(value == 1)"))], ["1.1"])
    assert points(r) == {"1.1": 4}, verdicts(r)
    assert check_outcome(r, "1.1", X_EQUAL).passed
    assert not check_outcome(r, "1.1", Y_EQUAL).passed
    assert "y is 1 but the row does not have a single +1 pixel" in \
        check_outcome(r, "1.1", RULE).message


# ============================================================================================
# 1.2 – the 1D ConvNet
# ============================================================================================


def test_no_padding_with_a_shrunk_pool_loses_layers_and_behaviour_1_2(grade_cells) -> None:
    model = ALICE["ex12"].replace("padding=filter_size//2", "padding=0") \
        .replace("MaxPool1d(kernel_size=W)", "MaxPool1d(kernel_size=W - filter_size + 1)")
    assert model != ALICE["ex12"]
    r = grade_cells([("code", IMPORTS), ("code", "C, W = 1, 20"), H12, ("code", model)], ["1.2"])
    assert "padding=2" in check_outcome(r, "1.2", LAYERS).message, verdicts(r)
    assert "differ from the reference" in check_outcome(r, "1.2", BEHAVIOUR).message
    # seeded as the handout says, and on the handout's first 5 rows the edges never win the max
    assert check_outcome(r, "1.2", SEEDED).passed
    assert (question(r, "1.2").status, question(r, "1.2").points) == ("partial", 3)


def test_unseeded_model_loses_only_the_seeded_predictions_1_2(grade_cells) -> None:
    model = ALICE["ex12"].replace("torch.manual_seed(0)", "pass")
    r = grade_cells([("code", IMPORTS), ("code", "C, W = 1, 20"), H12, ("code", model)], ["1.2"])
    assert (question(r, "1.2").status, question(r, "1.2").points) == ("partial", 7), verdicts(r)
    assert check_outcome(r, "1.2", LAYERS).passed and check_outcome(r, "1.2", BEHAVIOUR).passed
    assert "seeded" in check_outcome(r, "1.2", SEEDED).message


def test_custom_module_with_functional_relu_and_max_passes_1_2(grade_cells) -> None:
    model = """
        import torch.nn.functional as F

        class PatternNet(nn.Module):
            def __init__(self, num_filter=3, filter_size=5):
                super().__init__()
                self.conv = nn.Conv1d(1, num_filter, filter_size, padding=filter_size // 2)
                self.out = nn.Linear(num_filter, 1)

            def forward(self, x):
                return self.out(F.relu(self.conv(x)).amax(dim=2))

        torch.manual_seed(0)
        model = PatternNet()
        """
    r = grade_cells([("code", IMPORTS), H12, ("code", model)], ["1.2"])
    assert (question(r, "1.2").status, question(r, "1.2").points) == ("pass", 10), verdicts(r)
    assert "Conv1d" in check_outcome(r, "1.2", LAYERS).message


# ============================================================================================
# 1.3 – training the 1D ConvNet
# ============================================================================================


def test_3_and_4_filter_runs_with_lr_0_5_earn_nothing_1_3(grade_cells) -> None:
    cells = [*PART1_PRELUDE, H13, COPY_UNTRAINED,
             ("code", ALICE["ex13_train"].replace("lr=0.05", "lr=0.5")),
             ("code", ALICE["ex13_model4"]),
             ("code", ALICE["ex13_train4"].replace("lr=0.05", "lr=0.5"))]
    r = grade_cells(cells, ["1.3"])
    assert (question(r, "1.3").status, question(r, "1.3").points) == ("fail", 0), verdicts(r)
    assert "matches the reference" in check_outcome(r, "1.3", TRAINED4).message
    assert "not scored" in check_outcome(r, "1.3", TRACE).message


def test_only_the_3_filter_run_earns_its_6_points_1_3(grade_cells) -> None:
    cells = [*PART1_PRELUDE, H13, COPY_UNTRAINED, ("code", ALICE["ex13_train"])]
    r = grade_cells(cells, ["1.3"])
    assert (question(r, "1.3").status, question(r, "1.3").points) == ("partial", 6), verdicts(r)
    assert "'model3' is the trained 3-filter model" in check_outcome(r, "1.3", TRAINED3).message
    assert "no trained 4-filter model found" in check_outcome(r, "1.3", TRAINED4).message
    assert not check_outcome(r, "1.3", TRACE).passed  # printed, but only counts with 4 filters


def test_silent_4_filter_training_loses_the_trace_points_1_3(grade_cells) -> None:
    silent = ALICE["ex13_train4"].replace("print(", "str(")
    assert silent != ALICE["ex13_train4"]
    cells = [*PART1_PRELUDE, H13, COPY_UNTRAINED, ("code", ALICE["ex13_model4"]),
             ("code", silent)]
    r = grade_cells(cells, ["1.3"])
    assert check_outcome(r, "1.3", TRAINED4).passed, verdicts(r)
    assert "printed no loss trace" in check_outcome(r, "1.3", TRACE).message
    assert not check_outcome(r, "1.3", TRAINED3).passed  # only the untrained 3-filter model
    assert points(r) == {"1.3": 10}


def test_4_filters_in_1_2_and_no_3_filter_run_earn_full_marks_1_2_1_3(grade_cells) -> None:
    cells = [("code", IMPORTS), ("code", ALICE["ex11"]), H12, ("code", DAN["ex12"]), H13,
             COPY_UNTRAINED, ("code", DAN["ex13_train"])]
    r = grade_cells(cells, ["1.2", "1.3"])
    assert points(r) == {"1.2": 10, "1.3": 20}, verdicts(r)
    assert "'net' is the trained 4-filter model" in check_outcome(r, "1.3", TRAINED4).message
    assert "no 3-filter model" in check_outcome(r, "1.3", TRAINED3).message


def test_4_filters_in_1_2_trained_with_lr_0_5_earn_nothing_1_3(grade_cells) -> None:
    cells = [*PART1_PRELUDE[:2], ("code", DAN["ex12"]), H13, COPY_UNTRAINED,
             ("code", DAN["ex13_train"].replace("trained = fit(net, X, y)",
                                                "trained = fit(net, X, y, lr=0.5)"))]
    r = grade_cells(cells, ["1.3"])
    assert not check_outcome(r, "1.3", TRAINED4).passed, verdicts(r)
    assert points(r) == {"1.3": 0}, verdicts(r)


def test_empty_1_3_section_earns_nothing_1_3(grade_cells) -> None:
    r = grade_cells([H13, ("md", "I did not get to this one.")], ["1.3"])
    assert points(r) == {"1.3": 0}, verdicts(r)


def test_printing_the_expected_trace_without_training_earns_nothing_1_3(grade_cells) -> None:
    fake = f"""
        for epoch, loss in {TRACE_4!r}:
            print("Epoch %d had training loss %.4f" % (epoch, loss))
        """
    r = grade_cells([*PART1_PRELUDE, H13, COPY_UNTRAINED, ("code", fake)], ["1.3"])
    q = question(r, "1.3")
    assert "Epoch 500 had training loss 0.0095" in q.section.stdout  # it did print the trace
    assert (q.status, q.points) == ("fail", 0), verdicts(r)
    assert "printed output alone earns nothing" in check_outcome(r, "1.3", TRACE).message


def test_forged_training_output_in_the_file_earns_nothing_1_3(grade, tmp_path, lab9_rubric,
                                                              small_data) -> None:
    nb = build_notebook([*PART1_PRELUDE, H13, COPY_UNTRAINED,
                         ("code", "model4 = untrained_model  # (trained on my laptop)")])
    forged = nb.cells[-1]
    forged.execution_count = 7
    forged.outputs = [nbformat.v4.new_output("stream", name="stdout", text=PRINTED_TRACE_4)]
    r = grade(write_notebook(tmp_path, nb), rubric_with(lab9_rubric, ["1.3"]), small_data)
    q = question(r, "1.3")
    assert "Epoch" not in q.section.stdout  # the stored outputs were never read
    assert (q.status, q.points) == ("fail", 0), verdicts(r)


# ============================================================================================
# 2.1 – loading MNIST
# ============================================================================================


def test_loader_returning_float64_loses_the_dtype_half_of_the_load_check_2_1(grade_cells) -> None:
    loader = ALICE["ex21"].replace(".astype(np.float32) / 255", " / 255.0")
    assert loader != ALICE["ex21"]
    r = grade_cells([("code", IMPORTS), H21, ("code", loader), ("code", examples.given("lab9", "check_21"))],
                    ["2.1"])
    q = question(r, "2.1")
    assert [e.ename for e in q.section.errors] == ["AssertionError"]  # float32 assert first
    assert (q.status, q.points) == ("partial", 11), verdicts(r)
    loads = check_outcome(r, "2.1", LOADS)
    assert loads.points == 4 and "float64" in loads.message and "float32" in loads.message
    assert check_outcome(r, "2.1", BY_255).passed


# ============================================================================================
# 2.2 – the MNIST ConvNet
# ============================================================================================


def test_wrong_in_features_fails_layers_behaviour_and_accuracy_2_2(grade_cells) -> None:
    model = ALICE["ex22_model"].replace("num_filter * 14 * 14", "num_filter * 28 * 28")
    assert model != ALICE["ex22_model"]
    r = grade_cells([*PART2_PRELUDE, H22, ("code", model), ("code", examples.given("lab9", "check_22"))],
                    ["2.2"])
    q = question(r, "2.2")
    assert q.points == 0 and q.status == "error", verdicts(r)  # the check cell raised
    assert "in_features=1568" in check_outcome(r, "2.2", LAYERS).message
    assert not check_outcome(r, "2.2", BEHAVIOUR).passed
    assert "no trained model" in check_outcome(r, "2.2", ACCURACY).message


def test_untrained_convnet_fails_only_the_accuracy_check_2_2(grade_cells) -> None:
    r = grade_cells([*PART2_PRELUDE, H22, ("code", ALICE["ex22_model"])], ["2.2"])
    q = question(r, "2.2")
    assert (q.status, q.points) == ("partial", 15), verdicts(r)
    assert not check_outcome(r, "2.2", ACCURACY).passed
    assert check_outcome(r, "2.2", ACCURACY).points == 0


def test_convnet_named_net_still_earns_the_accuracy_points_2_2(grade_cells) -> None:
    renamed = [("code", ALICE[k].replace("model", "net"))
               for k in ("ex22_model", "ex22_config", "ex22_train")]
    r = grade_cells([*PART2_PRELUDE, H22, *renamed], ["2.2"])
    accuracy = check_outcome(r, "2.2", ACCURACY)
    assert accuracy.passed and "'net'" in accuracy.message, verdicts(r)
    assert "'model' is not defined" in check_outcome(r, "2.2", LAYERS).message
    assert points(r) == {"2.2": 20}


# ============================================================================================
# The pipeline: sections, dying kernels, timeouts
# ============================================================================================


def test_missing_heading_is_graded_before_the_next_heading_with_a_note(grade_cells) -> None:
    cells = [("md", "Here is my data set:"),
             ("code", NUMPY_DATA_11),
             H14, ("code", "X = X * 0  # later work overwrites X"), ("code", PLOT_SOMETHING)]
    r = grade_cells(cells, ["1.1", "1.4"])
    q = question(r, "1.1")
    assert (q.status, q.points) == ("pass", 10), verdicts(r)  # captured before X was zeroed
    assert q.section.note == ("heading 'Exercise 1.1' not found in the notebook: graded on the "
                              "state before 'Exercise 1.4'")
    assert question(r, "1.4").points == 2


def test_cells_added_and_split_inside_a_section_still_pass_1_1(grade_cells) -> None:
    cells = [H11,
             ("md", "First the empty tensors, then the loop."),
             ("code", "import numpy as np\nnp.random.seed(0)\nN, C, W = 75, 1, 20"),
             ("code", "print('scratch work')"),
             ("code", "X = np.zeros((N, C, W), dtype=np.float32)\ny = np.zeros((N, 1))"),
             ("md", "My loop:"),
             ("code", """
                 def fill_row(i):
                     size = np.random.randint(1, 3)
                     start = np.random.randint(0, W - size)
                     value = np.random.choice([-1, -0.5, 0.5, 1])
                     X[i, 0, start:start + size] = value
                     y[i] = size == 1 and value == 1
                 """),
             ("code", "for i in range(N):\n    fill_row(i)")]
    r = grade_cells(cells, ["1.1"])
    q = question(r, "1.1")
    assert (q.status, q.points) == ("pass", 10), verdicts(r)
    assert q.section.cell_indices == [2, 3, 4, 6, 7]
    assert "My loop:" in q.section.markdown


def test_kernel_dying_in_1_3_costs_1_3_only_and_a_new_kernel_grades_1_4_and_2_1(
        grade_cells) -> None:
    cells = [("code", IMPORTS), H11, ("code", ALICE["ex11"]), H12, ("code", ALICE["ex12"]),
             H13, ("code", "import os\nos._exit(1)"), H14, ("code", PLOT_SOMETHING),
             H21, ("code", ALICE["ex21"])]
    r = grade_cells(cells, ["1.1", "1.2", "1.3", "1.4", "2.1"])
    assert points(r) == {"1.1": 10, "1.2": 10, "1.3": 0, "1.4": 2, "2.1": 15}, verdicts(r)
    q13 = question(r, "1.3")
    assert (q13.status, [e.ename for e in q13.section.errors]) == ("error", ["DeadKernelError"])
    assert "kernel died" in q13.section.not_run_reason
    for qid in ("1.4", "2.1"):
        assert "graded after kernel restart 1 (the kernel died while running cell 6, in " \
               "question 1.3;" in question(r, qid).section.note, verdicts(r)


@pytest.fixture(scope="module")
def timed_out(tmp_path_factory, grade, lab9_rubric, small_data) -> GradeResult:
    """1.3 hangs in `while True: pass`; every cell gets 10 s (importing torch must fit)."""
    cells = [*PART1_PRELUDE, H13, COPY_UNTRAINED, ("code", "while True:\n    pass"),
             H14, ("code", PLOT_SOMETHING)]
    path = write_notebook(tmp_path_factory.mktemp("timeout"), cells)
    return grade(path, rubric_with(lab9_rubric, ["1.3", "1.4"]), small_data, cell_timeout=10)


def test_cell_timeout_in_1_3_costs_1_3_and_1_4_is_still_graded(timed_out) -> None:
    q13 = question(timed_out, "1.3")
    assert (q13.status, q13.points) == ("error", 0), verdicts(timed_out)
    assert len(q13.section.errors) == 1 and q13.section.executed
    q14 = question(timed_out, "1.4")
    assert (q14.status, q14.points) == ("manual", 2), verdicts(timed_out)


def test_cell_timeout_is_reported_as_a_timeout_1_3(timed_out) -> None:
    (error,) = question(timed_out, "1.3").section.errors
    assert error.ename == "CellTimeoutError" and "10 s" in error.evalue, error


@pytest.mark.slow  # about a minute: a probe timeout plus the kernel-responsiveness wait
def test_cell_swallowing_the_timeout_interrupt_is_not_graded_as_run_1_1_1_4(
        make_notebook, grade, lab9_rubric, small_data) -> None:
    hang = """
        import time
        while True:
            try:
                time.sleep(0.1)
            except KeyboardInterrupt:
                pass  # the grader's interrupt is ignored: the kernel stays busy
        """
    cells = [H11, ("code", NUMPY_DATA_11), ("code", hang),
             H14, ("code", PLOT_SOMETHING)]
    rubric = rubric_with(lab9_rubric, ["1.1", "1.4"])
    rubric = rubric.model_copy(update={"execution": rubric.execution.model_copy(
        update={"probe_timeout": 5, "interrupt_grace": 3})})
    r = grade(make_notebook(cells), rubric, small_data, cell_timeout=3)
    assert question(r, "1.1").section.errors, verdicts(r)  # the hang is recorded somewhere
    assert not check_outcome(r, "1.4", RAN).passed, verdicts(r)  # its cell never ran
