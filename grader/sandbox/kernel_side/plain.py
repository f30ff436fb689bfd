"""Student objects -> plain data: a JSON-able tree whose numeric arrays are kept aside for the NPZ.

Nothing a student object says about itself is trusted: numpy arrays are copied into base-class
arrays (an ndarray subclass's `__array__`, `tolist` or `__eq__` are never called), tensors are read
through torch, anything else comes back as its class name and a cut repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from sys import modules as loaded_modules
from traceback import format_exception
from typing import Any

from numpy import array, bool_, floating, integer, ndarray

MAX_DEPTH = 6
MAX_ITEMS = 10_000  # of a list or tuple
MAX_KEYS = 1_000  # of a dict
REPR_CHARS = 300


@dataclass
class ArraySink:
    """The arrays of one answer, by key, and the size any one of them may have."""

    max_bytes: int
    arrays: dict[str, ndarray] = field(default_factory=dict)

    def add(self, arr: ndarray) -> dict[str, str]:
        """Keep a numeric base-class array; its reference in the JSON tree."""
        key = f"a{len(self.arrays)}"
        self.arrays[key] = arr
        return {"__array__": key}


def torch_module() -> Any:
    """The notebook's torch, if it imported it (the grader never imports torch in the kernel)."""
    return loaded_modules.get("torch")


def to_plain(obj: Any, sink: ArraySink, depth: int = 0) -> Any:
    """A JSON-able tree for `obj`; its numeric arrays go to `sink`."""
    torch = torch_module()
    if depth > MAX_DEPTH:
        return {"__unsupported__": "nested too deeply"}
    if obj is None or isinstance(obj, bool):
        return obj
    if type(obj) in (int, float, str):
        return obj
    if isinstance(obj, (integer, floating, bool_)):
        return obj.item()
    if torch is not None and isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu()
        if obj.dtype == torch.bfloat16 or obj.dtype == torch.float16:
            obj = obj.float()
        obj = obj.numpy()
    if isinstance(obj, ndarray):
        return _array_reference(obj, sink)
    if isinstance(obj, (list, tuple)) and len(obj) <= MAX_ITEMS:
        return [to_plain(v, sink, depth + 1) for v in obj]
    if isinstance(obj, dict) and len(obj) <= MAX_KEYS:
        return {str(k): to_plain(v, sink, depth + 1) for k, v in obj.items()}
    return {"__type__": type(obj).__name__, "repr": safe_repr(obj)}


def _array_reference(obj: ndarray, sink: ArraySink) -> dict[str, str]:
    arr = array(obj, copy=True)
    if type(arr) is not ndarray or arr.dtype.kind not in "biufc":
        return {"__unsupported__": f"array of dtype {arr.dtype}"}
    if arr.nbytes > sink.max_bytes:
        return {"__unsupported__": f"array of {arr.nbytes} bytes exceeds the capture limit"}
    return sink.add(arr)


def safe_repr(obj: Any) -> str:
    """The first characters of repr(obj); a repr that raises is named, not propagated."""
    try:
        return repr(obj)[:REPR_CHARS]
    except Exception as exc:  # noqa: BLE001  (a student's __repr__ may raise anything)
        return f"<repr raised {type(exc).__name__}>"


def error_of(exc: BaseException) -> dict[str, str]:
    """An exception as plain data: its name, message and traceback (cut)."""
    lines = format_exception(type(exc), exc, exc.__traceback__)
    return {
        "ename": type(exc).__name__,
        "evalue": str(exc)[:2000],
        "traceback": "".join(lines)[-6000:],
    }
