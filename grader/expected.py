"""Expected values: calls into the instructor's reference module (trusted, grader process only).

`Reference.call("train_conv1d", 4)` loads the module lazily: a bare name (`lab9`) is the grader's
`reference.lab9`; an absolute path (a rubric's `reference: reference.py`, made absolute when the
rubric is loaded) is that file, loaded under a private module name. It passes the data bundle to
functions that take a `data` parameter, and memoises results in memory and, for slow functions
(model training for threshold calibration), on disk under the cache directory, keyed by the function,
its arguments, the data fingerprint, the reference source hash and the torch/numpy versions.

A call that raises is a `ReferenceError_`. It is recorded in `Reference.failures` as the
instructor's problem, so that scoring leaves the question out rather than charge the student, unless
the call carried the student's values (checks pass `cache=False` for those) and raised `ValueError`
or `TypeError`: that is how a reference function rejects a student's values ("expected 8 parameter
arrays, got 6"), and the student's check fails with that sentence.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import pickle
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.data import DataBundle

REFERENCE_PACKAGE = Path(__file__).resolve().parents[1] / "reference"


class ReferenceError_(RuntimeError):
    """The reference module is missing a function or raised: an instructor-side problem."""


def is_module_path(locator: str) -> bool:
    """`reference.py`, `course/ridge/ref.py`: a file; `lab9`: a module of the grader's reference/."""
    return locator.endswith(".py") or "/" in locator or os.sep in locator


def reference_file(locator: str) -> Path:
    """The file a reference locator names (without importing it)."""
    return Path(locator) if is_module_path(locator) else REFERENCE_PACKAGE / f"{locator}.py"


def reference_label(locator: str) -> str:
    """How messages name the module: its path, or reference/<name>.py."""
    return locator if is_module_path(locator) else f"reference/{locator}.py"


def load_reference_module(locator: str) -> ModuleType:
    """Import the reference module a locator names; raises ReferenceError_ saying why not."""
    if not is_module_path(locator):
        try:
            return importlib.import_module(f"reference.{locator}")
        except Exception as exc:
            raise ReferenceError_(f"{reference_label(locator)}: {type(exc).__name__}: {exc}"
                                  ) from exc
    path = Path(locator)
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise ReferenceError_(f"{path}: cannot read the reference module: {exc.strerror}") from None
    # private and content-addressed: a course's reference.py never shadows another's, and an
    # edited file is loaded afresh; registered so that pickle and dataclasses can find it
    name = "_nbgrade_reference_" + hashlib.sha256(str(path).encode() + source).hexdigest()[:16]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ReferenceError_(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ReferenceError_(f"{path}: importing it raised {type(exc).__name__}: {exc}") from exc
    return module


def _versions() -> str:
    parts = []
    for dist in ("numpy", "torch", "scipy"):
        try:
            parts.append(f"{dist}={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{dist}=none")
    return ",".join(parts)


class Reference:
    """The reference module of one assignment, bound to one data bundle."""

    # Results that took longer than this are cached on disk (1.3's trainings, the calibrations).
    # Low on purpose: with 0.5 s, a calibration seed that trained in 0.4 s on an idle machine was
    # retrained by every grade (1.2-3.8 s); reading a pickle takes about a millisecond.
    SLOW_SECONDS = 0.02

    THREADS = 1
    """Whatever the kernels get: results (and the disk cache, which is not keyed by threads) are
    the same on every machine and batch size."""

    def __init__(self, module_name: str, data: DataBundle, cache_dir: Path | None) -> None:
        self.module_name = module_name
        self.data = data
        self.cache_dir = cache_dir
        self._module: ModuleType | None = None
        self._memo: dict[str, Any] = {}
        self._warming: threading.Thread | None = None
        self._module_lock = threading.Lock()  # the warm-up thread may be importing it
        self.timings: dict[str, float] = {}
        self.failures: list[str] = []  # the instructor's problems (see the module docstring)

    @property
    def label(self) -> str:
        return reference_label(self.module_name)

    @property
    def module(self) -> ModuleType:
        if self._module is None:
            with self._module_lock:
                if self._module is None:
                    self._module = load_reference_module(self.module_name)
        return self._module

    def warm_up(self, named: list[str]) -> None:
        """Import the reference module, and torch when one of the functions `named` (those the
        rubric's checks call) uses it, in a background thread: started while the kernel runs the
        notebook, so that scoring finds them imported (torch alone takes about 2 s and 450 MB).
        A rubric whose checks need no torch never imports it here."""
        if self._warming is not None:
            return
        self._warming = threading.Thread(target=self._import_quietly, args=(named,),
                                         name="reference-warm-up", daemon=True)
        self._warming.start()

    def _import_quietly(self, named: list[str]) -> None:
        try:
            if uses_torch(self.module, named):
                self._limit_threads()
                import torch  # noqa: F401
        except Exception:  # noqa: BLE001, S110  (the call that needs it says what went wrong)
            pass

    def source_hash(self) -> str:
        path = Path(self.module.__file__ or reference_file(self.module_name))
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]

    def function(self, name: str) -> Any:
        fn = getattr(self.module, name, None)
        if fn is None or not callable(fn):
            message = f"{self.label} has no function '{name}'"
            self.failures.append(message)
            raise ReferenceError_(message)
        return fn

    def domains(self, name: str) -> dict[str, Any] | None:
        """The input domains the reference states for its inputs function `name` (its module's
        `DOMAINS`, see grader/checks/domains.py), or None when it states none."""
        declared = getattr(self.module, "DOMAINS", None)
        return declared.get(name) if isinstance(declared, dict) else None

    def call(self, name: str, *args: Any, cache: bool = True, **kwargs: Any) -> Any:
        """Call reference function `name`; memoised on (name, args) when args are hashable-ish."""
        fn = self.function(name)
        if takes_data(fn):
            kwargs["data"] = self.data
        key = self._key(name, args, kwargs) if cache else None
        if key is not None and key in self._memo:
            return self._memo[key]
        disk = self._disk_path(key) if key else None
        if disk is not None and disk.exists():
            with disk.open("rb") as fh:
                value = pickle.load(fh)
            self._memo[key] = value
            return value
        start = time.perf_counter()
        self._limit_threads()
        try:
            value = fn(*args, **kwargs)
        except Exception as exc:
            message = f"{self.label}: {name} raised {type(exc).__name__}: {exc}"
            if cache or not isinstance(exc, (ValueError, TypeError)):
                self.failures.append(message)
            raise ReferenceError_(message) from exc
        seconds = time.perf_counter() - start
        self.timings[name] = self.timings.get(name, 0.0) + seconds
        if key is not None:
            self._memo[key] = value
            if disk is not None and seconds > self.SLOW_SECONDS:
                disk.parent.mkdir(parents=True, exist_ok=True)
                # unique per writer: parallel workers may compute the same result at once
                tmp = disk.with_name(f".{disk.name}.{os.getpid()}.{threading.get_ident()}.tmp")
                with tmp.open("wb") as fh:
                    pickle.dump(value, fh)
                tmp.replace(disk)
        return value

    def _limit_threads(self) -> None:
        """One thread for torch (set before or after torch is imported)."""
        os.environ.setdefault("OMP_NUM_THREADS", str(self.THREADS))
        torch = sys.modules.get("torch")
        if torch is not None and torch.get_num_threads() != self.THREADS:
            torch.set_num_threads(self.THREADS)

    def _key(self, name: str, args: tuple, kwargs: dict) -> str | None:
        try:
            shown = repr((args, sorted((k, v) for k, v in kwargs.items() if k != "data")))
        except Exception:  # noqa: BLE001
            return None
        if len(shown) > 10_000:  # array arguments: hash their bytes instead of the repr
            shown = hashlib.sha256(pickle.dumps((args, {k: v for k, v in kwargs.items()
                                                        if k != "data"}))).hexdigest()
        return f"{name}:{shown}"

    def _disk_path(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(
            f"{key}|{self.data.fingerprint}|{self.source_hash()}|{_versions()}".encode()
        ).hexdigest()[:32]
        return self.cache_dir / "reference" / reference_file(self.module_name).stem / f"{digest}.pkl"


def takes_data(fn: Any) -> bool:
    """Whether a reference function has a `data` parameter (it then receives the data bundle)."""
    try:
        return "data" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def uses_torch(module: ModuleType, names: list[str]) -> bool:
    """Whether any of the module's functions `names`, or a function of the module they call,
    imports or names torch in its code (docstrings and comments aside)."""
    seen: set[str] = set()
    todo = [n for n in names if inspect.isfunction(getattr(module, n, None))]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        referenced = _names_in(getattr(module, name).__code__)
        if "torch" in referenced:
            return True
        todo += [n for n in referenced if inspect.isfunction(getattr(module, n, None))]
    return False


def _names_in(code: Any) -> set[str]:
    """The global and imported names a code object (with its nested ones) uses."""
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _names_in(const)
    return names


def named_functions(value: Any, module: ModuleType) -> list[str]:
    """The strings in a rubric's check parameters (nested) that name functions of `module`."""
    if isinstance(value, str):
        return [value] if inspect.isfunction(getattr(module, value, None)) else []
    if isinstance(value, dict):
        return [n for v in value.values() for n in named_functions(v, module)]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in named_functions(v, module)]
    return []
