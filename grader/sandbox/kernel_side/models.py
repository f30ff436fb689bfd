"""Torch helpers for probes: what a model is made of, loading weights, running it by batches.

torch is the notebook's own (imported by the student's code, never by the grader): a notebook that
never imported torch has no model to run. Everything here goes through torch's originals, taken when
the notebook imported it (originals.py), and reads a model's structure from its own registries
(`_modules`, `_parameters` in the instance dict), so a model whose `parameters()`, `named_modules()`
or `__call__` lie, or a patched `Module.__call__`, change nothing the grader sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from numpy import array, concatenate, ndarray, zeros
from numpy.random import seed as seed_numpy

from grader.sandbox.kernel_side.originals import TorchOriginals, call_module, normal
from grader.sandbox.kernel_side.plain import ArraySink, tensor_to_numpy, to_plain, torch_module

LAYER_ATTRS = (
    "in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
    "in_features", "out_features", "start_dim", "end_dim", "p", "num_features",
    "negative_slope", "dim",
)


def require_torch() -> TorchOriginals:
    torch = torch_module()
    if torch is None:
        raise LookupError("the notebook never imported torch, so it has no model to run")
    return torch


def is_module(obj: Any) -> bool:
    if not any(t.__name__ == "Module" for t in type(obj).__mro__):
        return False  # (without asking for torch, which may not be trustworthy)
    torch = torch_module()
    return torch is not None and issubclass(type(obj), torch.Module)


def _own(module: Any, registry: str) -> dict[str, Any]:
    """One of a module's own registries, read from its instance dict (no method of it runs)."""
    found = object.__getattribute__(module, "__dict__").get(registry)
    return found if type(found) is dict else {}


def named_modules(mod: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(path, module) of `mod` and its sub-modules, in torch's order, each once."""
    found: list[tuple[str, Any]] = []
    seen: set[int] = set()
    stack = [(prefix, mod)]
    while stack:
        path, module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        found.append((path, module))
        children = [(f"{path}.{name}" if path else name, child)
                    for name, child in _own(module, "_modules").items() if child is not None]
        stack.extend(reversed(children))
    return found


def named_parameters(mod: Any) -> list[tuple[str, Any]]:
    """(name, parameter) of the model in torch's order, each once, from the modules' own
    registries."""
    params: list[tuple[str, Any]] = []
    seen: set[int] = set()
    for path, module in named_modules(mod):
        for name, param in _own(module, "_parameters").items():
            if param is not None and id(param) not in seen:
                seen.add(id(param))
                params.append((f"{path}.{name}" if path else name, param))
    return params


def own_parameters(mod: Any) -> list[Any]:
    """The model's parameters in torch's order, each once (`named_parameters`)."""
    return [param for _, param in named_parameters(mod)]


def seed_all(seed: int | None) -> None:
    """Seed numpy's global generator and, when the notebook imported it, torch's."""
    if seed is None:
        return
    seed_numpy(seed)
    torch = torch_module()
    if torch is not None:
        torch.manual_seed(seed)


def layer_summary(path: str, layer: Any) -> dict[str, Any]:
    """A leaf layer's type, plain hyper-parameters and whether it has a bias."""
    attrs = {}
    for name in LAYER_ATTRS:
        if hasattr(layer, name):
            v = getattr(layer, name)
            if isinstance(v, (int, float, bool, str)) or (
                isinstance(v, tuple) and all(isinstance(t, (int, float)) for t in v)
            ):
                attrs[name] = list(v) if isinstance(v, tuple) else v
    has_bias = getattr(layer, "bias", None) is not None if hasattr(layer, "bias") else None
    return {"path": path, "type": type(layer).__name__, "attrs": attrs, "bias": has_bias}


def module_summary(mod: Any, sink: ArraySink, with_params: bool = True) -> dict[str, Any]:
    """The model's class, leaf layers in order, parameter shapes and count, and (optionally) its
    parameter arrays."""
    torch = require_torch()
    layers = [layer_summary(path, sub) for path, sub in named_modules(mod)
              if not _own(sub, "_modules")]
    params = [tensor_to_numpy(torch, p) for p in own_parameters(mod)]
    out = {
        "class": type(mod).__name__,
        "layers": layers,
        "param_shapes": [list(p.shape) for p in params],
        "n_params": int(sum(p.size for p in params)),
        "training": bool(object.__getattribute__(mod, "__dict__").get("training", True)),
    }
    if with_params:
        out["params"] = [to_plain(p, sink) for p in params]
    return out


def n_params(mod: Any) -> int:
    torch = require_torch()
    return sum(torch.TensorBase.numel(p) for p in own_parameters(mod))


def _size(torch: TorchOriginals, tensor: Any) -> tuple[int, ...]:
    return tuple(torch.TensorBase.size(tensor))


def assign_params(model: Any, params: list[Any], own: list[Any] | None = None) -> None:
    """Copy the arrays into the model's parameters (or `own`, some order of them), in order;
    ValueError when shapes differ."""
    torch = require_torch()
    own = own_parameters(model) if own is None else own
    if len(own) != len(params) or any(
        _size(torch, p) != tuple(q.shape) for p, q in zip(own, params)
    ):
        raise ValueError(
            "parameter shapes "
            f"{[list(_size(torch, p)) for p in own]} do not match "
            f"{[list(q.shape) for q in params]}"
        )
    with torch.no_grad(), torch.plain_tensors():
        for p, q in zip(own, params):
            source = torch.from_numpy(array(q))
            torch.TensorBase.copy_(p, torch.TensorBase.to(source, torch.TensorBase.dtype.__get__(p)))


def random_params(params: list[Any], seed: int, scale: float) -> list[Any]:
    """Normal(0, scale) float32 arrays shaped like `params`, in that order, from `seed`, drawn by
    the grader's own generator (originals.normal)."""
    torch = require_torch()
    return [normal(seed + i, scale, _size(torch, p)) for i, p in enumerate(params)]


def batched_forward(model: Any, x: Any, batch_size: int) -> ndarray:
    """The model's outputs on `x` as a numpy array, computed by batches without gradients,
    through torch's own forward call."""
    torch = require_torch()
    outs = []
    with torch.no_grad():
        for i in range(0, _size(torch, x)[0], batch_size):
            batch = rows(torch, x, i, i + batch_size)
            outs.append(tensor_to_numpy(torch, call_module(torch, model, batch)))
    return concatenate(outs) if outs else zeros(0)


def rows(torch: TorchOriginals, x: Any, start: int, stop: int) -> Any:
    """x[start:stop] of the grader's own input tensor, by torch's C indexing."""
    with torch.plain_tensors():
        return torch.TensorBase.__getitem__(x, slice(start, stop))


# ---- tracing: which torch operations a forward pass makes, in order --------------------------------

MAX_TRACED_CALLS = 400


@dataclass
class Trace:
    """What one forward pass did: one record per torch call that consumed an activation (the input
    or an earlier call's output), and the parameters in the order the calls first used them."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)  # the Parameter objects, first use first
    truncated: bool = False
    error: BaseException | None = None  # what the forward pass raised, after the calls recorded
    keep: list[Any] = field(default_factory=list)  # activations kept alive: their ids stay unique
    activations: set[int] = field(default_factory=set)
    names: dict[int, str] = field(default_factory=dict)  # id(parameter) -> its name in the model


def _shape(value: Any) -> list[int] | None:
    shape = getattr(value, "shape", None)
    return [int(s) for s in shape] if shape is not None and hasattr(value, "dtype") else None


def _tensors_in(value: Any) -> list[Any]:
    torch = require_torch()
    if issubclass(type(value), torch.TensorBase):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors_in(v)]
    return []


def _encode(value: Any, trace: Trace, depth: int = 0) -> Any:
    """An argument of a traced call as plain data: an activation or parameter by its shape (and
    name), a literal as itself, anything else by its class name."""
    torch = require_torch()
    if issubclass(type(value), torch.TensorBase):
        if id(value) in trace.names:
            return {"param": trace.names[id(value)], "shape": _shape(value)}
        kind = "act" if id(value) in trace.activations else "tensor"
        return {kind: _shape(value), "dtype": str(value.dtype).replace("torch.", "")}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)) and depth < 3 and len(value) <= 16:
        return [_encode(v, trace, depth + 1) for v in value]
    if isinstance(value, torch.torch.dtype):
        return str(value).replace("torch.", "")
    return {"other": type(value).__name__}


def _note_params(values: list[Any], trace: Trace) -> None:
    for value in values:
        for t in _tensors_in(value):
            if id(t) in trace.names and all(t is not p for p in trace.params):
                trace.params.append(t)


def record_call(trace: Trace, func: Any, args: tuple, kwargs: dict, out: Any,
                raised: bool = False) -> None:
    """Add a call to the trace when it consumed an activation and returned tensors (or raised:
    the call that broke the forward pass is kept, with no output)."""
    _note_params([*args, *kwargs.values()], trace)
    inputs = _tensors_in([*args, *kwargs.values()])
    outputs = _tensors_in(out)
    if not (outputs or raised) or not any(id(t) in trace.activations for t in inputs):
        return
    if len(trace.calls) >= MAX_TRACED_CALLS:
        trace.truncated = True
    else:
        trace.calls.append({
            "fn": str(getattr(func, "__name__", type(func).__name__)),
            "module": str(getattr(func, "__module__", None) or "Tensor"),
            "args": [_encode(a, trace) for a in args],
            "kwargs": {str(k): _encode(v, trace) for k, v in kwargs.items()},
            "out": [_shape(t) for t in outputs],
            **({"raised": True} if raised else {}),
        })
    for t in outputs:
        trace.activations.add(id(t))
        trace.keep.append(t)


def trace_forward(model: Any, x: Any) -> Trace:
    """Run `model(x)` without gradients under a torch function mode that records every torch call
    (modules' own functional calls included: nn.Conv2d calls F.conv2d with its padding as given).
    A forward pass that raises leaves the calls made until then, and the error, in the trace."""
    torch = require_torch()
    trace = Trace(names={id(p): name for name, p in named_parameters(model)})
    trace.activations.add(id(x))
    trace.keep.append(x)

    class Recorder(torch.torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: tuple = (),
                               kwargs: dict | None = None) -> Any:
            try:
                out = func(*args, **(kwargs or {}))
            except Exception:
                record_call(trace, func, args, kwargs or {}, None, raised=True)
                raise
            record_call(trace, func, args, kwargs or {}, out)
            return out

    try:
        with torch.no_grad(), Recorder():
            call_module(torch, model, x)
    except Exception as exc:  # noqa: BLE001  (the student's forward: an answer, not a crash)
        trace.error = exc
    return trace


def parameters_in_forward_order(model: Any, x: Any) -> list[Any]:
    """The model's parameters in the order its forward pass first uses them (then any unused
    ones): the order of the specification's layers, whatever order the student declared them in."""
    used = trace_forward(model, x).params  # a forward that raises will raise again, reported
    return used + [p for p in own_parameters(model) if all(p is not q for q in used)]
