"""What the student's code is called with, and calling it: argument specs -> values, traced calls.

A traced call counts the calls into the Python code of watched packages (a KNN that is really
sklearn's) with a profile hook, and times the call.
"""

from __future__ import annotations

from collections.abc import Callable
from sys import setprofile
from time import perf_counter
from typing import Any

from numpy import array, ndarray

from grader.probes import Arg, FileArg, InputArg, LiteralArg, StudentArg, TupleArg
from grader.sandbox.kernel_side.plain import torch_module


def lookup(namespace: dict[str, Any], name: str) -> Any:
    if name not in namespace:
        raise LookupError(f"name '{name}' is not defined")
    return namespace[name]


def load_arg(spec: Arg, namespace: dict[str, Any], inputs: dict[str, ndarray]) -> Any:
    """The value an argument spec stands for: a fresh copy of a grader input, never the original."""
    if isinstance(spec, InputArg):
        arr = inputs[spec.key]
        if spec.form == "tensor":
            return torch_module().from_numpy(array(arr))
        if spec.form == "list":
            return arr.tolist()
        return array(arr)
    if isinstance(spec, StudentArg):
        return lookup(namespace, spec.name)
    if isinstance(spec, FileArg):
        return spec.path
    if isinstance(spec, TupleArg):
        return tuple(load_arg(s, namespace, inputs) for s in spec.items)
    if isinstance(spec, LiteralArg):
        return spec.value
    raise TypeError(f"not an argument spec: {type(spec).__name__}")


def load_args(specs: tuple[Arg, ...], namespace: dict[str, Any],
              inputs: dict[str, ndarray]) -> list[Any]:
    return [load_arg(s, namespace, inputs) for s in specs]


class Tracer:
    """A profile hook counting calls into the Python code (or C functions) of watched packages."""

    def __init__(self, watch: tuple[str, ...]) -> None:
        self.watch = tuple(watch)
        self.hits: dict[str, int] = {}

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            mod = frame.f_globals.get("__name__", "")
        elif event == "c_call":
            mod = getattr(arg, "__module__", None) or ""
        else:
            return
        if mod and mod.startswith(self.watch):
            for w in self.watch:
                if mod.startswith(w):
                    self.hits[w] = self.hits.get(w, 0) + 1


def traced_call(fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
                watch: tuple[str, ...]) -> tuple[Any, float, dict[str, int]]:
    """fn(*args, **kwargs): its value, the seconds it took, and the watched packages' call counts."""
    tracer = Tracer(watch) if watch else None
    start = perf_counter()
    if tracer:
        setprofile(tracer)
    try:
        value = fn(*args, **kwargs)
    finally:
        if tracer:
            setprofile(None)
    return value, perf_counter() - start, (tracer.hits if tracer else {})
