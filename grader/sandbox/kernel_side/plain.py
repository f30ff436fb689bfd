"""Student objects -> plain data: a JSON-able tree whose numeric arrays are kept aside for the NPZ.

Nothing a student object says about itself is trusted: types are checked with `type()` (which a
`__class__` property cannot fake), numpy arrays are copied into base-class arrays (an ndarray
subclass's `__array__`, `tolist` or `__eq__` are never called), tensors are read through torch's own
C methods with subclasses' overrides disabled (originals.py), lists, tuples and dicts through their
base classes' methods, and anything else comes back as its class name and a cut repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from traceback import format_exception
from typing import Any

from numpy import array, ndarray, sctypeDict

from grader.sandbox.kernel_side.originals import TorchOriginals, plain_tensor, torch_originals

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


# numpy's own scalar types, exactly (a subclass could lie in `item`)
NUMPY_SCALARS = frozenset(t for t in sctypeDict.values() if t.__module__ == "numpy")


def torch_module() -> TorchOriginals | None:
    """torch's originals, if the notebook imported torch (the grader never imports it in the
    kernel); LookupError when the notebook got past the import watch (originals.py)."""
    return torch_originals()


def to_plain(obj: Any, sink: ArraySink, depth: int = 0) -> Any:
    """A JSON-able tree for `obj`; its numeric arrays go to `sink`."""
    kind = type(obj)
    if depth > MAX_DEPTH:
        return {"__unsupported__": "nested too deeply"}
    if obj is None or kind in (bool, int, float, str):
        return obj
    if kind in NUMPY_SCALARS:
        return obj.item()
    torch = torch_module() if any(t.__name__ == "TensorBase" for t in kind.__mro__) else None
    if torch is not None and issubclass(kind, torch.TensorBase):
        return _array_reference(tensor_to_numpy(torch, obj), sink)
    if issubclass(kind, ndarray):
        return _array_reference(obj, sink)
    if issubclass(kind, (list, tuple)):
        base = list if issubclass(kind, list) else tuple
        if base.__len__(obj) <= MAX_ITEMS:
            return [to_plain(base.__getitem__(obj, i), sink, depth + 1)
                    for i in range(base.__len__(obj))]
    if issubclass(kind, dict) and dict.__len__(obj) <= MAX_KEYS:
        return {str(k) if type(k) in (str, int, float, bool) else safe_repr(k):
                to_plain(v, sink, depth + 1) for k, v in list(dict.items(obj))}
    return {"__type__": kind.__name__, "repr": safe_repr(obj)}


def tensor_to_numpy(torch: TorchOriginals, value: Any) -> ndarray:
    """A tensor's data as a numpy array, read through torch's C methods only."""
    base = plain_tensor(torch, value)
    with torch.plain_tensors():
        dtype = torch.TensorBase.dtype.__get__(base)
        if torch.TensorBase.is_floating_point(base) and dtype not in torch.numpy_floats:
            base = torch.TensorBase.float(base)  # bfloat16 and float16 have no numpy dtype
        return torch.TensorBase.numpy(base)


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
