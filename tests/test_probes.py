"""Fast tests of the probe vocabulary (grader/probes.py): every operation to its dict form and back,
through JSON, and what checks plan with it. No kernel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grader.checks import registry
from grader.checks.base import PlanContext
from grader.checks.calls import resolve_args
from grader.expected import Reference
from grader.probes import (
    OPERATIONS,
    CallOp,
    CallsLogOp,
    Candidates,
    Construct,
    FiguresOp,
    FileArg,
    ForwardOp,
    InputArg,
    LiteralArg,
    ModulesOp,
    Request,
    Step,
    StructureOp,
    StudentArg,
    TupleArg,
    ValueOp,
    from_dict,
    to_dict,
)

EVERY_ARG = (InputArg("q1_x_1"), InputArg("q1_x_2", "tensor"), InputArg("q1_x_3", "list"),
             StudentArg("J"), FileArg("/tmp/x.npz"), LiteralArg(0.05), LiteralArg(None),
             LiteralArg({"kind": "input", "op": "value", "nested": [1, [2, 3]]}),
             TupleArg((LiteralArg(1), LiteralArg(28), TupleArg((StudentArg("k"),)))))

EXAMPLES = {  # every operation, with every field away from its default
    ValueOp: ValueOp("X", params=False, max_bytes=64, rows=(0, 5, 9)),
    ModulesOp: ModulesOp(max_params=10),
    ForwardOp: ForwardOp(Construct("Net", (TupleArg((LiteralArg(1), LiteralArg(28))),), seed=3),
                         "q2_x_1", random_weights_seed=7, random_scale=0.5, weights=("w", "b"),
                         eval=False, batch_size=10, argmax=True),
    CallOp: CallOp("train", EVERY_ARG, {"kind": StudentArg("f"), "lr": LiteralArg(0.1)}, seed=0,
                   watch=("sklearn.neighbors",),
                   steps=(Step("fit", (InputArg("x"), InputArg("y")), chain=True),
                          Step("predict", (InputArg("t"),), keep=True)),
                   describe=True, result=False),
    StructureOp: StructureOp(Construct("CNN", (LiteralArg(10),), seed=None), "q3_x_1",
                             eval=False),
    FiguresOp: FiguresOp(),
    CallsLogOp: CallsLogOp(),
}


def test_every_operation_class_has_an_example_here() -> None:
    assert set(EXAMPLES) == set(OPERATIONS)


@pytest.mark.parametrize("cls", OPERATIONS, ids=lambda c: c.__name__)
def test_operation_survives_its_dict_form_through_json(cls: type) -> None:
    op = EXAMPLES[cls]
    data = json.loads(json.dumps(to_dict(op)))
    assert data["op"] == cls.tag
    assert from_dict(data) == op
    assert to_dict(from_dict(data)) == data


@pytest.mark.parametrize("model", [StudentArg("model"), Construct("Net"),
                                   Candidates(("model", "*"), width=4, limit=2)],
                         ids=["student", "construct", "candidates"])
def test_each_model_source_of_a_forward_survives_the_round_trip(model) -> None:
    op = ForwardOp(model, "q_x_1")
    assert from_dict(json.loads(json.dumps(to_dict(op)))) == op


def test_literals_that_look_like_specs_stay_literals_and_tuples_become_tuples() -> None:
    op = from_dict(json.loads(json.dumps(to_dict(EXAMPLES[CallOp]))))
    literal = op.args[7]
    assert literal == LiteralArg({"kind": "input", "op": "value", "nested": [1, [2, 3]]})
    assert op.kwargs["kind"] == StudentArg("f")
    assert isinstance(op.args[8].items, tuple) and isinstance(op.steps, tuple)


def test_request_keeps_its_ids_in_order_and_its_settings() -> None:
    ops = {"1:0": EXAMPLES[ValueOp], "0:0": EXAMPLES[CallOp], "figures": FiguresOp()}
    request = Request(ops, max_array_bytes=1000, inputs="/run/in.npz")
    data = json.loads(json.dumps(request.to_dict()))
    assert [o["id"] for o in data["ops"]] == ["1:0", "0:0", "figures"]
    back = Request.from_dict(data)
    assert back == request and list(back.ops) == list(ops)


@pytest.mark.parametrize("data, said", [
    ({"op": "delete_everything"}, "not a probe operation"),
    ({"kind": "input", "key": "x"}, "not a probe operation"),
    ({"op": "value", "name": "X", "nmae": "Y"}, "not a ValueOp"),
    ({"op": "forward", "model": {"kind": "input", "key": "x"}, "input": "x"}, "expected one of"),
    ({"op": "call", "name": "f", "args": [{"kind": "construct", "cls": "C"}]}, "expected one of"),
])
def test_malformed_dicts_are_refused_with_what_they_are_not(data: dict, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        from_dict(data)


# ---- what checks plan ------------------------------------------------------------------------------


def test_rubric_argument_specs_become_typed_arguments(tmp_path: Path) -> None:
    ctx = PlanContext("3.1", Reference("hw2", None, None), None, tmp_path)
    inputs = {"Xs": np.ones((2, 2)), "ys": np.zeros(2)}
    kernel, grader = resolve_args(["Xs", {"student": "J"}, {"literal": 3}, 0.5,
                                   {"npz": {"X": "Xs"}, "relative": True}], ctx, inputs, "sgd")
    assert kernel[0] == InputArg("q3_1_sgd_1") and ctx.inputs["q3_1_sgd_1"].shape == (2, 2)
    assert kernel[1:4] == [StudentArg("J"), LiteralArg(3), LiteralArg(0.5)]
    assert kernel[4] == FileArg("3_1_2_sgd.npz") and (tmp_path / "3_1_2_sgd.npz").is_file()
    assert callable(grader[1]) and grader[2:4] == [3, 0.5]


def test_a_model_class_with_a_shape_argument_is_built_with_a_tuple(tmp_path: Path) -> None:
    check = registry["module_layers"]
    p = check.Params.model_validate({"cls": "Net", "construct_args": [[1, 28, 28], 10],
                                     "inputs": "image_batch", "layers": [{"type": "Linear"}]})
    [op] = check.plan(p, PlanContext("4.1", Reference("hw2", None, None), None, tmp_path), {})
    shape = TupleArg((LiteralArg(1), LiteralArg(28), LiteralArg(28)))
    assert op == StructureOp(Construct("Net", (shape, LiteralArg(10)), 0), "q4_1_structure_1")
