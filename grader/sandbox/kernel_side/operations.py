"""The probe operations: one function per operation class of grader/probes.py, dispatched by class.

Each takes the operation and a `ProbeContext` (the student's namespace, the grader's input arrays,
where answer arrays go, the kernel's logs) and returns the answer that class's docstring describes.
`answer(op, ctx)` adds what every answer has (ok / error, time, what the student's code printed).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from io import StringIO
from time import perf_counter
from typing import Any

from numpy import array, array_equal, asarray, float64, ndarray, shape

from grader.probes import (
    CallOp,
    CallsLogOp,
    Candidates,
    Construct,
    FiguresOp,
    ForwardOp,
    ModulesOp,
    ProbeOp,
    StructureOp,
    StudentArg,
    ValueOp,
)
from grader.sandbox.kernel_side.arguments import load_arg, load_args, lookup, traced_call
from grader.sandbox.kernel_side.models import (
    assign_params,
    batched_forward,
    is_module,
    module_summary,
    n_params,
    parameters_in_forward_order,
    random_params,
    require_torch,
    rows,
    seed_all,
    trace_forward,
)
from grader.sandbox.kernel_side.plain import ArraySink, error_of, to_plain

PRINTED_CHARS = 2000


@dataclass
class ProbeContext:
    """What operations read and write: the namespace, inputs, answer arrays and the kernel's logs."""

    namespace: dict[str, Any]
    inputs: dict[str, ndarray]
    sink: ArraySink
    figures: list[dict[str, Any]] = field(default_factory=list)  # emptied by a FiguresOp
    calls: list[dict[str, Any]] = field(default_factory=list)  # forbidden calls, logged by hooks


def op_value(op: ValueOp, ctx: ProbeContext) -> dict[str, Any]:
    obj = lookup(ctx.namespace, op.name)
    out: dict[str, Any] = {"type": type(obj).__name__}
    if is_module(obj):
        out["kind"] = "module"
        out["module"] = module_summary(obj, ctx.sink, with_params=op.params)
        return out
    if callable(obj) and not hasattr(obj, "shape"):
        out["kind"] = "callable"
        return out
    if op.max_bytes is not None:
        size = getattr(obj, "nbytes", None)
        if size is None and hasattr(obj, "element_size") and hasattr(obj, "numel"):
            size = obj.element_size() * obj.numel()
        if size is not None and size > op.max_bytes:
            out["kind"] = "too_big"
            out["shape"] = [int(s) for s in getattr(obj, "shape", ())]
            return out
    if op.rows is not None:
        return {**out, **_row_summary(obj, op.rows, ctx.sink)}
    plain = to_plain(obj, ctx.sink)
    out["kind"] = "array" if isinstance(plain, dict) and "__array__" in plain else "value"
    if hasattr(obj, "dtype"):
        out["dtype"] = str(obj.dtype)
    if hasattr(obj, "shape"):
        out["shape"] = [int(s) for s in obj.shape]
    out["value"] = plain
    return out


def _row_summary(obj: Any, rows: tuple[int, ...], sink: ArraySink) -> dict[str, Any]:
    """Some rows and the column sums of a (large) array, each row flattened."""
    arr = asarray(obj.detach().cpu().numpy() if hasattr(obj, "detach") else obj)
    arr = arr.reshape(arr.shape[0], -1) if arr.ndim > 1 else arr
    idx = [r for r in rows if r < arr.shape[0]]
    return {
        "kind": "summary",
        "shape": list(shape(obj)),
        "dtype": str(arr.dtype),
        "rows": to_plain(array(arr[idx]), sink),
        "colsum": to_plain(array(arr.sum(0, dtype=float64)), sink),
    }


def op_modules(op: ModulesOp, ctx: ProbeContext) -> dict[str, Any]:
    seen = set()
    found = []
    for name, obj in list(ctx.namespace.items()):
        if name.startswith("_") or not is_module(obj) or id(obj) in seen:
            continue
        seen.add(id(obj))
        summary = module_summary(obj, ctx.sink, with_params=n_params(obj) <= op.max_params)
        summary["name"] = name
        found.append(summary)
    return {"modules": found}


def _model_of(source: StudentArg | Construct, ctx: ProbeContext) -> Any:
    """A fresh `cls(*args)`, or a deep copy of the student's model (probes never change theirs)."""
    if isinstance(source, Construct):
        cls = lookup(ctx.namespace, source.cls)
        args = load_args(source.args, ctx.namespace, ctx.inputs)
        seed_all(source.seed)
        return cls(*args)
    return deepcopy(lookup(ctx.namespace, source.name))


def op_forward(op: ForwardOp, ctx: ProbeContext) -> dict[str, Any]:
    if isinstance(op.model, Candidates):
        return _forward_candidates(op, op.model, ctx)
    model = _model_of(op.model, ctx)
    x = _input_batch(op, ctx)
    result: dict[str, Any] = {}
    if op.eval:
        model.eval()
    if op.random_weights_seed is not None:
        order = parameters_in_forward_order(model, rows(require_torch(), x, 0, 2))
        params = random_params(order, op.random_weights_seed, op.random_scale)
        assign_params(model, params, order)
        result["params"] = [to_plain(p, ctx.sink) for p in params]
    if op.weights is not None:
        assign_params(model, [ctx.inputs[k] for k in op.weights])
    out = batched_forward(model, x, op.batch_size)
    result["shape"] = list(out.shape)
    result["output"] = to_plain(out.argmax(axis=1) if op.argmax else out, ctx.sink)
    return result


def _input_batch(op: ForwardOp | StructureOp, ctx: ProbeContext) -> Any:
    """The grader's input batch as a tensor of its own (a copy of the input array)."""
    return require_torch().from_numpy(array(ctx.inputs[op.input]))


def _forward_candidates(op: ForwardOp, source: Candidates, ctx: ProbeContext) -> dict[str, Any]:
    """Predictions of every model that maps the input batch to the wanted number of scores."""
    torch = require_torch()
    x = _input_batch(op, ctx)
    pool = [(n, ctx.namespace[n]) for n in source.names if n != "*" and n in ctx.namespace]
    if "*" in source.names:
        pool += [(n, o) for n, o in list(ctx.namespace.items()) if not n.startswith("_")]
    seen, found = set(), []
    for name, obj in pool:
        if not is_module(obj) or id(obj) in seen or len(found) >= source.limit:
            continue
        seen.add(id(obj))
        try:
            model = deepcopy(obj)
            model.eval()
            trial = batched_forward(model, rows(torch, x, 0, 2), 2)
            if tuple(trial.shape) != (min(2, len(ctx.inputs[op.input])), source.width):
                continue
            out = batched_forward(model, x, op.batch_size)
            found.append({"name": name, "output": to_plain(out.argmax(axis=1), ctx.sink)})
        except Exception as exc:  # noqa: BLE001  (one broken model is that model's answer)
            found.append({"name": name, "error": error_of(exc)})
    return {"candidates": found}


def op_structure(op: StructureOp, ctx: ProbeContext) -> dict[str, Any]:
    model = _model_of(op.model, ctx)
    if not is_module(model):
        raise TypeError(f"it is a {type(model).__name__}, not a torch model (nn.Module)")
    if op.eval:
        model.eval()
    trace = trace_forward(model, _input_batch(op, ctx))
    return {"calls": trace.calls, "truncated": trace.truncated,
            "forward_error": error_of(trace.error) if trace.error is not None else None,
            "params": [{"name": trace.names[id(p)], "shape": [int(s) for s in p.shape]}
                       for p in trace.params]}


def op_call(op: CallOp, ctx: ProbeContext) -> dict[str, Any]:
    target = lookup(ctx.namespace, op.name)
    seed_all(op.seed)
    args = load_args(op.args, ctx.namespace, ctx.inputs)
    kwargs = {k: load_arg(v, ctx.namespace, ctx.inputs) for k, v in op.kwargs.items()}
    before = [array(a, copy=True) if isinstance(a, ndarray) else None for a in args]
    value, seconds, hits = traced_call(target, args, kwargs, op.watch)
    result: dict[str, Any] = {"forbidden_hits": hits, "mutated_args": [
        bool(b is not None and (b.shape != a.shape or not array_equal(b, a)))
        for b, a in zip(before, args)
    ]}
    steps = []
    for step in op.steps:
        method = getattr(value, step.method)
        step_args = load_args(step.args, ctx.namespace, ctx.inputs)
        ret, step_seconds, step_hits = traced_call(method, step_args, {}, op.watch)
        for k, v in step_hits.items():
            hits[k] = hits.get(k, 0) + v
        seconds += step_seconds
        steps.append(to_plain(ret, ctx.sink) if step.keep else None)
        if step.chain and ret is not None:
            value = ret
    result["seconds"] = seconds
    result["steps"] = steps
    if op.describe and is_module(value):
        result["module"] = module_summary(value, ctx.sink, with_params=False)
    if op.result:
        result["result"] = to_plain(value, ctx.sink)
    return result


def op_figures(op: FiguresOp, ctx: ProbeContext) -> dict[str, Any]:
    taken = list(ctx.figures)
    ctx.figures.clear()
    return {"figures": taken}


def op_calls_log(op: CallsLogOp, ctx: ProbeContext) -> dict[str, Any]:
    return {"calls": list(ctx.calls)}


HANDLERS: dict[type, Callable[[Any, ProbeContext], dict[str, Any]]] = {
    ValueOp: op_value,
    ModulesOp: op_modules,
    ForwardOp: op_forward,
    StructureOp: op_structure,
    CallOp: op_call,
    FiguresOp: op_figures,
    CallsLogOp: op_calls_log,
}


def answer(op: ProbeOp, ctx: ProbeContext) -> dict[str, Any]:
    """Run one operation: its answer, or the error it raised; timed, with what the student's code
    printed meanwhile kept out of the notebook's output."""
    start = perf_counter()
    saved_stdout = sys.stdout
    sys.stdout = StringIO()
    try:
        result = {"ok": True, **HANDLERS[type(op)](op, ctx)}
    except BaseException as exc:  # noqa: BLE001  (a student's SystemExit is an answer too)
        result = {"ok": False, "error": error_of(exc)}
    finally:
        printed = sys.stdout.getvalue()
        sys.stdout = saved_stdout
    result["probe_seconds"] = perf_counter() - start
    result["printed"] = printed[-PRINTED_CHARS:]
    return result
