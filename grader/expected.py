"""Expected values: calls into the instructor's reference module (trusted, grader process only).

`Reference.call("train_conv1d", 4)` imports `reference.<module>` lazily, passes the data bundle to
functions that take a `data` parameter, and memoises results in memory and, for slow functions
(model training for threshold calibration), on disk under the cache directory, keyed by the function,
its arguments, the data fingerprint, the reference source hash and the torch/numpy versions.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
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


class ReferenceError_(RuntimeError):
    """The reference module is missing a function or raised: an instructor-side problem."""


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

    SLOW_SECONDS = 0.5  # results that took longer than this are cached on disk (1.3's trainings)

    def __init__(self, module_name: str, data: DataBundle, cache_dir: Path | None,
                 threads: int = 1) -> None:
        self.module_name = module_name
        self.threads = threads  # as in the kernels: same results as a student who followed along
        self.data = data
        self.cache_dir = cache_dir
        self._module: ModuleType | None = None
        self._memo: dict[str, Any] = {}
        self.timings: dict[str, float] = {}

    @property
    def module(self) -> ModuleType:
        if self._module is None:
            try:
                self._module = importlib.import_module(f"reference.{self.module_name}")
            except ImportError as exc:
                raise ReferenceError_(f"reference module reference/{self.module_name}.py: {exc}")
        return self._module

    def source_hash(self) -> str:
        path = Path(inspect.getfile(self.module))
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]

    def function(self, name: str) -> Any:
        fn = getattr(self.module, name, None)
        if fn is None or not callable(fn):
            raise ReferenceError_(f"reference/{self.module_name}.py has no function '{name}'")
        return fn

    def domains(self, name: str) -> dict[str, Any] | None:
        """The input domains the reference states for its inputs function `name` (its module's
        `DOMAINS`, see grader/checks/domains.py), or None when it states none."""
        declared = getattr(self.module, "DOMAINS", None)
        return declared.get(name) if isinstance(declared, dict) else None

    def call(self, name: str, *args: Any, cache: bool = True, **kwargs: Any) -> Any:
        """Call reference function `name`; memoised on (name, args) when args are hashable-ish."""
        fn = self.function(name)
        if "data" in inspect.signature(fn).parameters:
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
            raise ReferenceError_(
                f"reference/{self.module_name}.py: {name} raised {type(exc).__name__}: {exc}"
            ) from exc
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
        """Use the kernels' thread count for torch (set before or after torch is imported)."""
        os.environ.setdefault("OMP_NUM_THREADS", str(self.threads))
        torch = sys.modules.get("torch")
        if torch is not None and torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)

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
        return self.cache_dir / "reference" / self.module_name / f"{digest}.pkl"
