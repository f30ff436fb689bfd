"""torch's own functions, as they were when the notebook imported torch; a private normal generator.

The kernel side never imports torch (a notebook that does not use it starts faster), so it cannot take
torch's functions at install time. Instead `watch_torch_import()` (at install) puts a finder first on
`sys.meta_path`: when the notebook imports torch, the import runs, and before control goes back to the
notebook the finder keeps what probes use (`TorchOriginals`): `Module._call_impl`, the forward past any
patched `Module.__call__`; `torch._C.TensorBase`, an immutable C type whose methods a subclass cannot
override for us (called with subclasses' `__torch_function__` disabled); `from_numpy`, `no_grad`,
`cat`, `manual_seed`; and the registries of global forward hooks. A notebook that removes the finder,
or swaps `sys.modules["torch"]`, gets no answer that needs torch: its torch cannot be trusted.

`normal(seed, scale, shape)` draws the grader's random weights from SHA-256 and Box-Muller with numpy
ufuncs taken at install, so no generator the notebook can patch is involved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256
from importlib.abc import Loader, MetaPathFinder
from math import pi, prod
from sys import meta_path
from sys import modules as loaded_modules
from typing import Any

from numpy import concatenate, cos, float32, frombuffer, log, ndarray, sin, sqrt, uint64, zeros

HOOK_REGISTRIES = ("_global_forward_hooks", "_global_forward_pre_hooks",
                   "_global_forward_hooks_with_kwargs", "_global_forward_hooks_always_called")


@dataclass(frozen=True)
class TorchOriginals:
    """What the probes call of torch, taken right after the notebook's `import torch` ran."""

    torch: Any  # the module object, to notice a notebook that swapped sys.modules["torch"]
    Module: type
    call_impl: Callable[..., Any]
    TensorBase: type
    from_numpy: Callable[..., Any]
    no_grad: Callable[..., Any]
    cat: Callable[..., Any]
    manual_seed: Callable[..., Any]
    plain_tensors: Callable[..., Any]  # torch._C.DisableTorchFunctionSubclass
    hooks: tuple[dict, ...]  # the global forward hook registries (dicts, so live)
    numpy_floats: tuple[Any, ...]  # float32, float64: the float dtypes numpy reads as they are

    @classmethod
    def of(cls, torch: Any) -> TorchOriginals:
        module = torch.nn.modules.module
        return cls(torch, torch.nn.Module, torch.nn.Module._call_impl, torch._C.TensorBase,
                   torch.from_numpy, torch.no_grad, torch.cat, torch.manual_seed,
                   torch._C.DisableTorchFunctionSubclass,
                   tuple(getattr(module, name) for name in HOOK_REGISTRIES
                         if isinstance(getattr(module, name, None), dict)),
                   (torch.float32, torch.float64))


@dataclass
class _Watch:
    installed: bool = False
    originals: TorchOriginals | None = None


_watch = _Watch()  # this kernel's one watch


class _CapturingLoader(Loader):
    """torch's own loader, which then hands the fresh module to `_watch`."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        if _watch.originals is None:
            _watch.originals = TorchOriginals.of(module)


class _TorchImportWatch(MetaPathFinder):
    """Finds `torch` as the finders after it would, and wraps its loader."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "torch" or _watch.originals is not None:
            return None
        for finder in meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _CapturingLoader(spec.loader)
                return spec
        return None


def watch_torch_import() -> None:
    """At install, before any student cell: take torch's originals now if it is already loaded
    (by the grader's own set-up), else when the notebook imports it."""
    _watch.installed = True
    if "torch" in loaded_modules:
        _watch.originals = TorchOriginals.of(loaded_modules["torch"])
    else:
        meta_path.insert(0, _TorchImportWatch())


def torch_originals() -> TorchOriginals | None:
    """torch's originals; None when the notebook never imported torch. LookupError when it did so
    past the watch (or swapped the module), so that nothing of it can be trusted."""
    current = loaded_modules.get("torch")
    if current is None:
        return None
    if not _watch.installed and _watch.originals is None:  # in-process unit tests: no kernel
        _watch.originals = TorchOriginals.of(current)
    originals = _watch.originals
    if originals is None or originals.torch is not current:
        raise LookupError("the notebook imported torch past the grader's import watch (or "
                          "replaced it in sys.modules), so its models cannot be inspected")
    return originals


def call_module(t: TorchOriginals, model: Any, *args: Any) -> Any:
    """model(*args) through torch's own Module._call_impl: a patched `Module.__call__` is
    skipped, and global forward hooks (which would rewrite every output) are refused."""
    if any(t.hooks):
        raise LookupError("the notebook registered global forward hooks, which would change "
                          "every model's outputs")
    return t.call_impl(model, *args)


def plain_tensor(t: TorchOriginals, value: Any) -> Any:
    """A base-class tensor with `value`'s data, detached, on the CPU; TypeError for a non-tensor.
    A subclass's overridden methods and `__torch_function__` are never called."""
    if not issubclass(type(value), t.TensorBase):
        raise TypeError(f"the model returned {type(value).__name__}, not a tensor")
    with t.plain_tensors():
        return t.TensorBase.cpu(t.TensorBase.detach(value))


def normal(seed: int, scale: float, shape: tuple[int, ...]) -> ndarray:
    """Normal(0, scale) float32 numbers of `shape` from `seed`: SHA-256 in counter mode, then
    Box-Muller; the same on every machine."""
    count = prod(shape)
    if count == 0:
        return zeros(shape, float32)
    pairs = (count + 1) // 2
    blocks = (2 * pairs * 8 + 31) // 32
    raw = b"".join(sha256(f"{seed}:{i}".encode()).digest() for i in range(blocks))
    u = (frombuffer(raw, dtype=uint64, count=2 * pairs) >> 11) * 2.0**-53 + 2.0**-54  # (0, 1)
    radius = sqrt(-2.0 * log(u[:pairs]))
    angle = 2.0 * pi * u[pairs:]
    z = concatenate((radius * cos(angle), radius * sin(angle)))[:count]
    return (scale * z).astype(float32).reshape(shape)
