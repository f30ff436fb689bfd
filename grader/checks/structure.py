"""A traced forward pass -> the layers it computes, each normalised to its meaning; and the match
of those layers with a rubric's specification.

Takes the `calls` a `StructureOp` answered (every torch call of one forward pass, in order, modules'
own functional calls included) and returns `Layer`s whose attributes mean one thing however the
student spelled them: a convolution's padding is the effective zeros added on each side (so
`padding='same'`, `padding=2`, `padding=(2, 2)` and `F.pad(x, (2, 2, 2, 2))` before an unpadded
convolution are one thing), sizes are tuples (`5`, `(5,)` and `(5, 5)` as the layer's dimensions
require), ReLU is ReLU whether `nn.ReLU`, `F.relu`, `torch.relu` or `.relu()`, a flatten is any
reshape to (N, features), a max over the whole feature map is a global max pool, and what computes
the identity in eval mode (dropout, `nn.Identity`, `.contiguous()`) is left out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

LAYER_TYPES = {  # a specification's type -> the normalised type it means
    "AdaptiveMaxPool1d": "MaxPool1d", "AdaptiveMaxPool2d": "MaxPool2d",
    "AdaptiveAvgPool1d": "AvgPool1d", "AdaptiveAvgPool2d": "AvgPool2d",
}
NAMED = {"relu": "ReLU", "relu_": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh",
         "softmax": "Softmax", "log_softmax": "LogSoftmax", "leaky_relu": "LeakyReLU",
         "linear": "Linear", "__getitem__": "Index"}
RESHAPES = {"view", "reshape", "flatten", "squeeze", "squeeze_", "unsqueeze", "unsqueeze_",
            "view_as", "reshape_as", "unflatten"}
SAME_VALUES = {"contiguous", "clone", "detach", "float", "to", "type", "type_as", "cpu",
               "requires_grad_", "identity"}
DROPOUTS = {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
            "feature_alpha_dropout", "feature_dropout"}
CONV = re.compile(r"conv([123])d")
POOL = re.compile(r"_?(adaptive_)?(max|avg)_pool([123])d(_with_indices)?")
TUPLE_ATTRS = ("kernel_size", "stride", "dilation", "output_size")


@dataclass
class Layer:
    """One normalised operation of the forward pass."""

    type: str  # "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", ... or the function's name
    attrs: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the parameter or function that computed it, for reports

    def sentence(self) -> str:
        a = self.attrs
        if self.type.startswith("Conv"):
            extra = "".join(f", {k}={_short(a[k])}" for k in ("stride", "dilation", "groups")
                            if a.get(k) not in (None, 1) and _short(a[k]) != 1)
            bias = "" if a.get("bias", True) else ", bias=False"
            return (f"{self.type}({a.get('in_channels')}, {a.get('out_channels')}, kernel_size="
                    f"{_short(a.get('kernel_size'))}, padding={_short_padding(a.get('padding'))}"
                    f"{extra}{bias})")
        if self.type == "Linear":
            bias = "" if a.get("bias", True) else ", bias=False"
            return f"Linear({a.get('in_features')}, {a.get('out_features')}{bias})"
        if "Pool" in self.type:
            if a.get("global"):
                return f"{self.type}(over the whole feature map)"
            if "kernel_size" in a:
                return (f"{self.type}(kernel_size={_short(a['kernel_size'])}, "
                        f"stride={_short(a['stride'])})")
            return f"{self.type}(output_size={_short(a.get('output_size'))})"
        if self.type == "Flatten":
            return f"Flatten(-> {a.get('features')})"
        if a:
            return f"{self.type}({', '.join(f'{k}={v}' for k, v in a.items())})"
        return self.type


def _short(value: Any) -> Any:
    """(5, 5) -> 5; (5, 3) -> (5, 3)."""
    if isinstance(value, (list, tuple)) and value and all(v == value[0] for v in value):
        return value[0]
    return tuple(value) if isinstance(value, list) else value


def _short_padding(pads: Any) -> Any:
    if not pads:
        return pads
    if all(lo == hi == pads[0][0] for lo, hi in pads):
        return pads[0][0]
    return tuple(tuple(p) for p in pads)


# ---- reading the traced calls ---------------------------------------------------------------------

SIGNATURES = {  # positional parameters of the functional calls normalised below
    "conv": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "linear": ("input", "weight", "bias"),
    "max_pool": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "avg_pool": ("input", "kernel_size", "stride", "padding", "ceil_mode"),
    "adaptive": ("input", "output_size"),
    "pad": ("input", "pad", "mode", "value"),
    "dropout": ("input", "p", "training", "inplace"),
    "reduce": ("input", "dim", "keepdim"),
}


def bind(call: dict[str, Any], signature: str) -> dict[str, Any]:
    """The call's arguments by parameter name (positional ones named by `SIGNATURES`)."""
    names = SIGNATURES[signature]
    bound = dict(zip(names, call.get("args", [])))
    bound.update(call.get("kwargs", {}))
    return bound


def _tuple(value: Any, dims: int, default: int) -> list[int]:
    if value is None:
        return [default] * dims
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value] if len(value) == dims else [int(value[0])] * dims
    return [int(value)] * dims


def _padding(value: Any, kernel: list[int], dilation: list[int]) -> list[list[int]]:
    """Zeros added before and after, per spatial dimension, for a convolution's `padding`."""
    if value == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [[t // 2, t - t // 2] for t in total]
    if value == "valid":
        return [[0, 0] for _ in kernel]
    return [[p, p] for p in _tuple(value, len(kernel), 0)]


def _spatial(shape: Any) -> list[int]:
    return list(shape[2:]) if isinstance(shape, list) else []


def _act_shape(value: Any) -> list[int] | None:
    return value.get("act") if isinstance(value, dict) else None


def _param(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) and "param" in value else None


def _conv(call: dict[str, Any], dims: int, pending_pad: list[list[int]] | None) -> Layer:
    b = bind(call, "conv")
    weight = b.get("weight") if isinstance(b.get("weight"), dict) else {}
    wshape = weight.get("shape") or weight.get("tensor") or []
    kernel = [int(k) for k in wshape[2:]] or [0] * dims
    dilation = _tuple(b.get("dilation"), dims, 1)
    padding = _padding(b.get("padding", 0), kernel, dilation)
    if pending_pad is not None:
        padding = [[lo + a, hi + c] for (lo, hi), (a, c) in zip(padding, pending_pad)]
    shape = _act_shape(b.get("input")) or [0, 0]
    groups = int(b.get("groups") or 1)
    return Layer(f"Conv{dims}d", {
        "in_channels": int(shape[1]) if len(shape) > 1 else None,
        "out_channels": int(wshape[0]) if wshape else None,
        "kernel_size": kernel, "stride": _tuple(b.get("stride"), dims, 1), "padding": padding,
        "dilation": dilation, "groups": groups, "bias": b.get("bias") is not None,
    }, source=str(weight.get("param", call["fn"])))


def _linear(call: dict[str, Any]) -> Layer:
    b = bind(call, "linear")
    weight = b.get("weight") if isinstance(b.get("weight"), dict) else {}
    wshape = weight.get("shape") or weight.get("tensor") or [None, None]
    return Layer("Linear", {"in_features": wshape[-1], "out_features": wshape[0],
                            "bias": b.get("bias") is not None},
                 source=str(weight.get("param", "linear")))


def _pool(call: dict[str, Any], match: re.Match[str]) -> Layer:
    adaptive, kind, dims = match.group(1), match.group(2), int(match.group(3))
    name = f"{'Max' if kind == 'max' else 'Avg'}Pool{dims}d"
    b = bind(call, "adaptive" if adaptive else f"{kind}_pool")
    in_spatial = _spatial(_act_shape(b.get("input")))
    out_spatial = _spatial((call.get("out") or [[]])[0])
    if adaptive:
        size = _tuple(b.get("output_size"), dims, 1)
        return Layer(name, {"output_size": out_spatial or size,
                            "global": bool(out_spatial) and all(o == 1 for o in out_spatial)},
                     source=call["fn"])
    kernel = _tuple(b.get("kernel_size"), dims, 1)
    stride = _tuple(b.get("stride") or b.get("kernel_size"), dims, 1)
    pad = _tuple(b.get("padding"), dims, 0)
    covers = bool(in_spatial) and all(k + 2 * p >= s for k, p, s in zip(kernel, pad, in_spatial))
    return Layer(name, {"kernel_size": kernel, "stride": stride, "padding": pad,
                        "output_size": out_spatial,
                        "global": covers and all(o == 1 for o in out_spatial)}, source=call["fn"])


def _reduction(call: dict[str, Any], kind: str) -> list[Layer]:
    """A max (or mean) over every spatial dimension is a global pool, then a flatten when the
    reduced dimensions are dropped; any other reduction keeps its function's name."""
    b = bind(call, "reduce")
    shape = _act_shape(b.get("input")) or []
    dim = b.get("dim")
    dims = [dim] if isinstance(dim, int) else (dim if isinstance(dim, list) else None)
    spatial = list(range(2, len(shape)))
    if dims is None or len(shape) < 3 or sorted(d % len(shape) for d in dims) != spatial:
        return [Layer(call["fn"], source=call["fn"])]
    name = f"{'Max' if kind == 'max' else 'Avg'}Pool{len(spatial)}d"
    pool = Layer(name, {"kernel_size": shape[2:], "stride": shape[2:], "padding": [0] * len(spatial),
                        "output_size": [1] * len(spatial), "global": True}, source=call["fn"])
    if b.get("keepdim"):
        return [pool]
    return [pool, Layer("Flatten", {"features": int(shape[1])}, source=call["fn"])]


def _reshape(before: list[int], after: list[int]) -> list[Layer]:
    if before == after:
        return []
    if len(before) > 2 and len(after) == 2 and after == [before[0], math.prod(before[1:])]:
        return [Layer("Flatten", {"features": after[1]}, source="reshape")]
    return [Layer("Reshape", {"shape": tuple(after[1:])}, source="reshape")]


def _is_dropout_off(call: dict[str, Any]) -> bool:
    b = bind(call, "dropout")
    training = b.get("training", b.get("train", True))
    return training is False


def normalise(calls: list[dict[str, Any]]) -> list[Layer]:
    """The layers a traced forward pass computes, in order (see the module's docstring)."""
    layers: list[Layer] = []
    pending_pad: list[list[int]] | None = None
    reshape_from: list[int] | None = None
    shape_now: list[int] | None = None
    for call in calls:
        fn = str(call.get("fn", ""))
        first = _act_shape(call.get("args", [None])[0]) if call.get("args") else None
        out = (call.get("out") or [None])[0]
        if fn in RESHAPES and first is not None:
            reshape_from = reshape_from if reshape_from is not None else first
            shape_now = out
            continue
        if reshape_from is not None and shape_now is not None:
            layers += _reshape(reshape_from, shape_now)
            reshape_from = shape_now = None
        if fn in SAME_VALUES or (fn in DROPOUTS and _is_dropout_off(call)):
            continue
        if fn == "pad":
            b = bind(call, "pad")
            pads = [int(v) for v in b.get("pad") or []]
            if b.get("mode", "constant") == "constant" and not b.get("value"):
                # F.pad lists (before, after) from the last dimension backwards
                pending_pad = [[pads[i], pads[i + 1]] for i in range(0, len(pads), 2)][::-1]
                continue
        conv = CONV.fullmatch(fn)
        if conv and pending_pad is not None:
            dims = int(conv.group(1))
            pending_pad = ([[0, 0]] * dims + pending_pad)[-dims:]
        elif pending_pad is not None:
            layers.append(Layer("Pad", {"pad": pending_pad}, source="pad"))
        pool = POOL.fullmatch(fn)
        if conv:
            layers.append(_conv(call, int(conv.group(1)), pending_pad))
        elif fn == "linear":
            layers.append(_linear(call))
        elif pool:
            layers.append(_pool(call, pool))
        elif fn in ("amax", "max", "mean"):
            layers += _reduction(call, "avg" if fn == "mean" else "max")
        elif fn in DROPOUTS:
            layers.append(Layer("Dropout", {"active in eval mode": True}, source=fn))
        else:
            layers.append(Layer(NAMED.get(fn, fn), source=fn))
        pending_pad = None
    if reshape_from is not None and shape_now is not None:
        layers += _reshape(reshape_from, shape_now)
    return layers


# ---- comparing with the specification ---------------------------------------------------------------


def spec_type(name: str) -> str:
    return LAYER_TYPES.get(name, name)


def _dims(layer: Layer) -> int:
    match = re.search(r"(\d)d$", layer.type)
    return int(match.group(1)) if match else 1


def _normal_want(key: str, want: Any, layer: Layer) -> Any:
    """The specification's value in the normalised form of the layer's attribute."""
    dims = _dims(layer)
    if key == "padding" and layer.type.startswith("Conv"):
        if isinstance(want, list) and want and isinstance(want[0], list):
            return want
        return _padding(want, list(layer.attrs.get("kernel_size") or [1] * dims),
                        list(layer.attrs.get("dilation") or [1] * dims))
    if key in TUPLE_ATTRS or (key == "padding" and "Pool" in layer.type):
        return _tuple(want, dims, 0)
    return want


def attr_matches(key: str, want: Any, layer: Layer) -> bool:
    """Does the layer's attribute mean what the specification says? A list of alternatives
    (`out_channels: [3, 4]`, or a list of tuples) accepts any of them."""
    if key not in layer.attrs:
        return False
    got = layer.attrs[key]
    scalar_alternatives = isinstance(want, list) and not isinstance(got, list)
    tuple_alternatives = (isinstance(want, list) and want and isinstance(want[0], list)
                          and key != "padding")
    if scalar_alternatives:
        return got in want
    if tuple_alternatives:
        return any(attr_matches(key, w, layer) for w in want)
    return _normal_want(key, want, layer) == got


def match_layers(layers: list[Layer], spec: list[Any]) -> list[str]:
    """Problems with the traced layers against the specification's (LayerSpec: type, attrs,
    optional), in order; [] when they match."""
    problems = []
    li = 0
    for want in spec:
        types = {spec_type(t) for t in ([want.type] if isinstance(want.type, str) else want.type)}
        shown = " or ".join(sorted(types))
        if li < len(layers) and layers[li].type in types:
            got = layers[li]
            for key, value in want.attrs.items():
                if not attr_matches(key, value, got):
                    problems.append(f"{got.sentence()} should have {key}={value}")
            li += 1
        elif not want.optional:
            found = layers[li].sentence() if li < len(layers) else "nothing"
            problems.append(f"expected a {shown} layer, found {found}")
            if any(layer.type in types for layer in layers[li:]):
                while li < len(layers) and layers[li].type not in types:
                    li += 1
    if li < len(layers):
        problems.append("unexpected extra layers: " + ", ".join(l.sentence() for l in layers[li:]))
    return problems
