"""Torch helpers for probes: what a model is made of, loading weights, running it by batches.

torch is the notebook's own (imported by the student's code, never by the grader): a notebook that
never imported torch has no model to run.
"""

from __future__ import annotations

from typing import Any

from numpy import array, float32
from numpy.random import default_rng
from numpy.random import seed as seed_numpy

from grader.sandbox.kernel_side.plain import ArraySink, to_plain, torch_module

LAYER_ATTRS = (
    "in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
    "in_features", "out_features", "start_dim", "end_dim", "p", "num_features",
    "negative_slope", "dim",
)


def require_torch() -> Any:
    torch = torch_module()
    if torch is None:
        raise LookupError("the notebook never imported torch, so it has no model to run")
    return torch


def is_module(obj: Any) -> bool:
    torch = torch_module()
    return torch is not None and isinstance(obj, torch.nn.Module)


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
    layers = [layer_summary(path, sub) for path, sub in mod.named_modules()
              if not len(list(sub.children()))]
    params = [p.detach().cpu().numpy() for p in mod.parameters()]
    out = {
        "class": type(mod).__name__,
        "layers": layers,
        "param_shapes": [list(p.shape) for p in params],
        "n_params": int(sum(p.size for p in params)),
        "training": bool(mod.training),
    }
    if with_params:
        out["params"] = [to_plain(p, sink) for p in params]
    return out


def n_params(mod: Any) -> int:
    return sum(p.numel() for p in mod.parameters())


def assign_params(model: Any, params: list[Any]) -> None:
    """Copy the arrays into the model's parameters, in order; ValueError when shapes differ."""
    torch = require_torch()
    own = list(model.parameters())
    if len(own) != len(params) or any(
        tuple(p.shape) != tuple(q.shape) for p, q in zip(own, params)
    ):
        raise ValueError(
            "parameter shapes "
            f"{[list(p.shape) for p in own]} do not match {[list(q.shape) for q in params]}"
        )
    with torch.no_grad():
        for p, q in zip(own, params):
            p.copy_(torch.from_numpy(array(q)).to(p.dtype))


def random_params(model: Any, seed: int, scale: float) -> list[Any]:
    """Normal(0, scale) float32 arrays shaped like the model's parameters, from `seed`."""
    rng = default_rng(seed)
    return [rng.normal(0.0, scale, size=tuple(p.shape)).astype(float32)
            for p in model.parameters()]


def batched_forward(model: Any, x: Any, batch_size: int) -> Any:
    """The model's outputs on `x`, computed by batches without gradients."""
    torch = require_torch()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            outs.append(model(x[i:i + batch_size]))
    return torch.cat(outs) if outs else torch.zeros(0)
