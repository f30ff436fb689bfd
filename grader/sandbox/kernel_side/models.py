"""Torch helpers for probes: what a model is made of, loading weights, running it by batches.

torch is the notebook's own (imported by the student's code, never by the grader): a notebook that
never imported torch has no model to run. Everything here goes through torch's originals, taken when
the notebook imported it (originals.py), and reads a model's structure from its own registries
(`_modules`, `_parameters` in the instance dict), so a model whose `parameters()`, `named_modules()`
or `__call__` lie, or a patched `Module.__call__`, change nothing the grader sees.
"""

from __future__ import annotations

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


def own_parameters(mod: Any) -> list[Any]:
    """The model's parameters in torch's order, each once, from the modules' own registries."""
    params: list[Any] = []
    seen: set[int] = set()
    for _, module in named_modules(mod):
        for param in _own(module, "_parameters").values():
            if param is not None and id(param) not in seen:
                seen.add(id(param))
                params.append(param)
    return params


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


def _shape(torch: TorchOriginals, tensor: Any) -> tuple[int, ...]:
    return tuple(torch.TensorBase.size(tensor))


def assign_params(model: Any, params: list[Any]) -> None:
    """Copy the arrays into the model's parameters, in order; ValueError when shapes differ."""
    torch = require_torch()
    own = own_parameters(model)
    if len(own) != len(params) or any(
        _shape(torch, p) != tuple(q.shape) for p, q in zip(own, params)
    ):
        raise ValueError(
            "parameter shapes "
            f"{[list(_shape(torch, p)) for p in own]} do not match "
            f"{[list(q.shape) for q in params]}"
        )
    with torch.no_grad(), torch.plain_tensors():
        for p, q in zip(own, params):
            source = torch.from_numpy(array(q))
            torch.TensorBase.copy_(p, torch.TensorBase.to(source, torch.TensorBase.dtype.__get__(p)))


def random_params(model: Any, seed: int, scale: float) -> list[Any]:
    """Normal(0, scale) float32 arrays shaped like the model's parameters, from `seed`, drawn by
    the grader's own generator (originals.normal)."""
    torch = require_torch()
    return [normal(seed + i, scale, _shape(torch, p)) for i, p in enumerate(own_parameters(model))]


def batched_forward(model: Any, x: Any, batch_size: int) -> ndarray:
    """The model's outputs on `x` as a numpy array, computed by batches without gradients,
    through torch's own forward call."""
    torch = require_torch()
    outs = []
    with torch.no_grad():
        for i in range(0, _shape(torch, x)[0], batch_size):
            batch = rows(torch, x, i, i + batch_size)
            outs.append(tensor_to_numpy(torch, call_module(torch, model, batch)))
    return concatenate(outs) if outs else zeros(0)


def rows(torch: TorchOriginals, x: Any, start: int, stop: int) -> Any:
    """x[start:stop] of the grader's own input tensor, by torch's C indexing."""
    with torch.plain_tensors():
        return torch.TensorBase.__getitem__(x, slice(start, stop))
