"""Fast tests of the kernel side's operations, run in-process on a plain dict namespace (no kernel):
what each probe answers for values, tensors, models, forwards, calls with steps, and objects that lie.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from grader.capture import read_probe_answer, resolve_arrays
from grader.probes import (
    CallOp,
    CallsLogOp,
    Candidates,
    Construct,
    FiguresOp,
    ForwardOp,
    InputArg,
    LiteralArg,
    ModulesOp,
    ProbeOp,
    Request,
    Step,
    StructureOp,
    StudentArg,
    TupleArg,
    ValueOp,
)
from grader.sandbox.kernel_side import entry
from grader.sandbox.kernel_side.figures import FigureLog
from grader.sandbox.kernel_side.operations import ProbeContext, answer
from grader.sandbox.kernel_side.plain import ArraySink, to_plain


def probe(op: ProbeOp, namespace: dict[str, Any], **inputs: np.ndarray) -> dict[str, Any]:
    """The answer to `op`, with its array references resolved, as capture.py would see it."""
    ctx = ProbeContext(namespace, inputs, ArraySink(2**20))
    return resolve_arrays(answer(op, ctx), ctx.sink.arrays)


def small_cnn() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv1d(1, 3, 5, padding=2), torch.nn.ReLU(),
                               torch.nn.MaxPool1d(20), torch.nn.Flatten(), torch.nn.Linear(3, 2))


# ---- values --------------------------------------------------------------------------------------


def test_array_value_comes_back_with_shape_dtype_and_data() -> None:
    X = np.arange(6, dtype=np.float32).reshape(2, 3)
    got = probe(ValueOp("X"), {"X": X})
    assert (got["ok"], got["kind"], got["shape"], got["dtype"]) == (True, "array", [2, 3], "float32")
    assert np.array_equal(got["value"], X) and got["value"] is not X


@pytest.mark.parametrize("value, plain", [(3, 3), (np.float64(0.5), 0.5), ("text", "text"),
                                          (None, None), (True, True),
                                          ({1: [2, (3,)]}, {"1": [2, [3]]})])
def test_plain_values_come_back_as_json_data(value: Any, plain: Any) -> None:
    got = probe(ValueOp("v"), {"v": value})
    assert (got["kind"], got["value"]) == ("value", plain)


def test_missing_name_is_an_error_answer_naming_it() -> None:
    got = probe(ValueOp("X"), {})
    assert not got["ok"] and got["error"]["ename"] == "LookupError"
    assert got["error"]["evalue"] == "name 'X' is not defined"


def test_function_is_a_callable_and_large_candidate_is_only_its_shape() -> None:
    assert probe(ValueOp("f"), {"f": len})["kind"] == "callable"
    big = probe(ValueOp("X", max_bytes=100), {"X": np.zeros((10, 20))})
    assert (big["kind"], big["shape"]) == ("too_big", [10, 20]) and "value" not in big


def test_row_summary_gives_the_rows_flattened_and_column_sums() -> None:
    X = np.arange(24, dtype=np.uint8).reshape(4, 2, 3)
    got = probe(ValueOp("X", rows=(1, 3, 99)), {"X": X})
    assert (got["kind"], got["shape"], got["dtype"]) == ("summary", [4, 2, 3], "uint8")
    assert np.array_equal(got["rows"], X.reshape(4, 6)[[1, 3]])
    assert np.array_equal(got["colsum"], X.reshape(4, 6).sum(0)) and got["colsum"].dtype == "f8"


def test_tensor_value_is_read_through_torch_half_precision_as_float32() -> None:
    t = torch.arange(4.0, requires_grad=True).half()
    got = probe(ValueOp("t"), {"t": t})
    assert (got["kind"], got["dtype"], got["shape"]) == ("array", "torch.float16", [4])
    assert got["value"].dtype == np.float32 and got["value"].tolist() == [0, 1, 2, 3]


class LyingArray(np.ndarray):
    """An ndarray subclass whose conversions and comparisons lie."""

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        return np.ones(self.shape)

    def tolist(self) -> list:
        return [1.0] * len(self)

    def __eq__(self, other: object) -> bool:  # type: ignore[override]
        return True


class LyingTensor(torch.Tensor):
    @property
    def __class__(self) -> type:
        return np.ndarray


class AlwaysEqual:
    shape, dtype = (3,), np.float32

    def __eq__(self, other: object) -> bool:
        return True

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        return np.ones(3, np.float32)

    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


def test_lying_ndarray_subclass_comes_back_as_its_real_data_in_a_plain_array() -> None:
    X = np.zeros(3).view(LyingArray)
    got = probe(ValueOp("X"), {"X": X})
    assert type(got["value"]) is np.ndarray and got["value"].tolist() == [0, 0, 0]


def test_tensor_lying_about_its_class_comes_back_as_its_real_values() -> None:
    y = torch.zeros(2, 1).as_subclass(LyingTensor)
    got = probe(ValueOp("y"), {"y": y})
    assert got["kind"] == "array" and got["value"].tolist() == [[0.0], [0.0]]


def test_object_with_a_lying_array_method_is_only_its_type_and_a_safe_repr() -> None:
    got = probe(ValueOp("X"), {"X": AlwaysEqual()})
    assert got["kind"] == "value" and got["shape"] == [3]
    assert got["value"] == {"__type__": "AlwaysEqual", "repr": "<repr raised RuntimeError>"}


def test_unsupported_values_say_why() -> None:
    sink = ArraySink(16)
    assert to_plain(np.array(["a"], dtype=object), sink) == {
        "__unsupported__": "array of dtype object"}
    assert "exceeds the capture limit" in to_plain(np.zeros(3), sink)["__unsupported__"]
    deep: list = []
    for _ in range(10):
        deep = [deep]
    assert "nested too deeply" in json.dumps(to_plain(deep, sink))
    assert sink.arrays == {}


# ---- models --------------------------------------------------------------------------------------


def test_model_value_is_its_layers_shapes_and_parameters() -> None:
    model = small_cnn()
    got = probe(ValueOp("model"), {"model": model})
    summary = got["module"]
    assert (got["kind"], summary["class"], summary["n_params"]) == ("module", "Sequential", 26)
    assert [l["type"] for l in summary["layers"]] == ["Conv1d", "ReLU", "MaxPool1d", "Flatten",
                                                      "Linear"]
    assert summary["layers"][0]["attrs"]["kernel_size"] == [5] and summary["layers"][0]["bias"]
    assert summary["param_shapes"] == [[3, 1, 5], [3], [2, 3], [2]]
    assert np.array_equal(summary["params"][0], model[0].weight.detach().numpy())
    assert "params" not in probe(ValueOp("model", params=False), {"model": model})["module"]


def test_modules_lists_each_public_model_once_with_small_ones_parameters() -> None:
    model = small_cnn()
    big = torch.nn.Linear(100, 100)
    ns = {"model": model, "same": model, "_hidden": torch.nn.ReLU(), "big": big, "x": 3}
    got = probe(ModulesOp(max_params=1000), ns)["modules"]
    assert [m["name"] for m in got] == ["model", "big"]
    assert len(got[0]["params"]) == 4 and "params" not in got[1]


def test_forward_with_random_weights_leaves_the_students_model_untouched() -> None:
    model = torch.nn.Linear(3, 2)
    before = model.weight.detach().clone()
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    got = probe(ForwardOp(StudentArg("model"), "x", random_weights_seed=1, batch_size=2),
                {"model": model}, x=x)
    w, b = got["params"]
    assert got["shape"] == [5, 2] and w.shape == (2, 3) and w.dtype == np.float32
    assert np.allclose(got["output"], x @ w.T + b, atol=1e-6)
    assert torch.equal(model.weight, before)


def test_forward_builds_the_class_seeded_with_a_tuple_argument_and_loads_given_weights() -> None:
    class Net(torch.nn.Module):
        def __init__(self, shape: tuple, classes: int) -> None:
            super().__init__()
            assert isinstance(shape, tuple)
            self.fc = torch.nn.Linear(shape[0] * shape[1], classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x.flatten(1))

    x = np.ones((4, 2, 2), np.float32)
    w, b = np.zeros((3, 4), np.float32), np.array([0, 5, 1], np.float32)
    args = (TupleArg((LiteralArg(2), LiteralArg(2))), LiteralArg(3))
    got = probe(ForwardOp(Construct("Net", args, seed=0), "x", weights=("w", "b"), argmax=True),
                {"Net": Net}, x=x, w=w, b=b)
    assert got["ok"], got
    assert got["shape"] == [4, 3] and got["output"].tolist() == [1, 1, 1, 1]


def test_forward_candidates_keeps_models_of_the_right_width_and_reports_broken_ones() -> None:
    class Broken(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise ValueError("not trained")

    good = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    ns = {"wide": torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 5)), "good": good,
          "broken": Broken(), "_private": good, "n": 3}
    x = np.ones((6, 2, 2), np.float32)
    got = probe(ForwardOp(Candidates(("model", "*"), width=3), "x"), ns, x=x)["candidates"]
    assert [c["name"] for c in got] == ["good", "broken"]
    expected = good(torch.from_numpy(x)).argmax(dim=1).numpy()
    assert np.array_equal(got[0]["output"], expected)
    assert got[1]["error"]["evalue"] == "not trained"


def test_forward_without_torch_says_there_is_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "torch")
    got = probe(ForwardOp(StudentArg("model"), "x"), {"model": object()}, x=np.ones(1))
    assert got["error"]["evalue"] == "the notebook never imported torch, so it has no model to run"


# ---- calls ---------------------------------------------------------------------------------------


def test_call_answers_result_mutation_and_what_the_function_printed(
        capsys: pytest.CaptureFixture) -> None:
    def center(X: np.ndarray, note: str | None, scale: float = 1.0) -> np.ndarray:
        print("centering")
        X -= X.mean(0)
        return X * scale

    X = np.array([[1.0, 2.0], [3.0, 6.0]])
    got = probe(CallOp("center", (InputArg("X"), LiteralArg(None)), {"scale": LiteralArg(2.0)}),
                {"center": center}, X=X)
    assert got["ok"], got
    assert got["result"].tolist() == [[-2.0, -4.0], [2.0, 4.0]]
    assert got["mutated_args"] == [True, False] and X[0, 0] == 1.0  # the grader's copy changed
    assert got["printed"] == "centering\n" and capsys.readouterr().out == ""
    assert got["steps"] == [] and got["seconds"] >= 0


def test_call_with_steps_chains_fit_and_keeps_predict() -> None:
    class Majority:
        def fit(self, X: np.ndarray, y: np.ndarray) -> Majority:
            self.label = int(np.bincount(y).argmax())
            return self

        def predict(self, X: list) -> np.ndarray:
            return np.full(len(X), self.label)

    op = CallOp("Majority", steps=(Step("fit", (InputArg("X"), InputArg("y")), chain=True),
                                   Step("predict", (InputArg("T", "list"),), keep=True)),
                result=False)
    got = probe(op, {"Majority": Majority}, X=np.zeros((3, 2)), y=np.array([2, 2, 1]),
                T=np.zeros((4, 2)))
    assert got["steps"][0] is None and got["steps"][1].tolist() == [2, 2, 2, 2]
    assert "result" not in got


def test_call_describes_a_built_model_and_counts_watched_library_calls() -> None:
    def build(width: int) -> torch.nn.Module:
        json.dumps([1, 2])  # library code the check watches
        return torch.nn.Linear(width, 2)

    got = probe(CallOp("build", (LiteralArg(4),), watch=("json",), describe=True, result=False),
                {"build": build})
    assert got["module"]["param_shapes"] == [[2, 4], [2]] and "params" not in got["module"]
    assert got["forbidden_hits"].get("json", 0) > 0
    assert probe(CallOp("build", (LiteralArg(4),)), {"build": build})["forbidden_hits"] == {}


def test_student_system_exit_and_missing_student_argument_are_error_answers() -> None:
    def leave() -> None:
        sys.exit(3)

    assert probe(CallOp("leave"), {"leave": leave})["error"]["ename"] == "SystemExit"
    got = probe(CallOp("f", (StudentArg("J"),)), {"f": print})
    assert got["error"]["evalue"] == "name 'J' is not defined"


# ---- logs and the whole round trip ---------------------------------------------------------------


def test_figures_are_taken_once_and_calls_log_is_read() -> None:
    figure = {"execution_count": 2, "axes": [], "data_axes": 1, "image_axes": 0}
    ctx = ProbeContext({}, {}, ArraySink(0), figures=[figure],
                       calls=[{"call": "numpy.cov", "execution_count": 4}])
    assert answer(FiguresOp(), ctx)["figures"] == [figure]
    assert answer(FiguresOp(), ctx)["figures"] == []
    assert answer(CallsLogOp(), ctx)["calls"] == [{"call": "numpy.cov", "execution_count": 4}]


def test_run_reads_a_request_and_writes_answers_the_grader_accepts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shell = type("Shell", (), {"user_ns": {"X": np.eye(2), "f": np.sum}})()
    monkeypatch.setattr(entry, "_installed", [entry.Installed(shell, FigureLog(shell), [])])
    np.savez(tmp_path / "in.npz", x=np.arange(3.0))
    request = Request({"0:0": ValueOp("X"), "0:1": CallOp("f", (InputArg("x"),)),
                       "figures": FiguresOp()}, 2**20, str(tmp_path / "in.npz"))
    (tmp_path / "req.json").write_text(json.dumps(request.to_dict()))
    entry.run(str(tmp_path / "req.json"), str(tmp_path / "out.json"), str(tmp_path / "out.npz"))
    got = read_probe_answer(tmp_path / "out.json", tmp_path / "out.npz", 2**20)
    assert np.array_equal(got["0:0"]["value"], np.eye(2))
    assert got["0:1"]["result"] == 3.0 and got["figures"]["figures"] == []


def test_structure_of_a_non_model_says_what_it_is() -> None:
    got = probe(StructureOp(StudentArg("model"), "x"), {"model": [1, 2]},
                x=np.zeros((2, 1, 20), dtype=np.float32))
    assert not got["ok"] and "it is a list, not a torch model" in got["error"]["evalue"]


def test_structure_records_each_layer_call_with_its_parameters() -> None:
    got = probe(StructureOp(StudentArg("m"), "x"), {"m": small_cnn()},
                x=np.zeros((2, 1, 20), dtype=np.float32))
    assert [c["fn"] for c in got["calls"]] == ["conv1d", "relu", "max_pool1d", "flatten",
                                               "linear"]
    assert got["calls"][0]["args"][1] == {"param": "0.weight", "shape": [3, 1, 5]}
    assert [p["name"] for p in got["params"]] == ["0.weight", "0.bias", "4.weight", "4.bias"]
    assert got["forward_error"] is None
