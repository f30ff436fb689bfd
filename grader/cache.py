"""The execution cache: each student's last `Execution`, kept so `grade --rescore` needs no kernel.

`ExecutionCache(out_dir)` keeps them under `<out>/.cache/executions/` (pickled: the grader produced
each from validated plain data; the folder is the grader's, mode 0700, never inside a sandbox), each
with a `CacheHeader` saying what it was captured for, which `batch/plan.py` compares with the rubric.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_DIR_NAME = ".cache"
CACHE_FORMAT = 1


@dataclass
class CacheHeader:
    """What a cached execution was captured for: read without loading the execution itself."""

    notebook_sha256: str
    grader_version: str
    execution_key: dict[str, Any]
    plans: dict[str, dict[str, Any]]  # question id -> question_plan()
    executed_at: str
    worker: str
    format: int = CACHE_FORMAT


class ExecutionCache:
    """`<out>/.cache/executions/<student>-<hash>.pkl`: a `CacheHeader` pickle, then the Execution.

    Written atomically, only by the batch's own process.
    """

    def __init__(self, out_dir: Path) -> None:
        self.root = out_dir / CACHE_DIR_NAME
        self.dir = self.root / "executions"

    def path_for(self, student: str) -> Path:
        digest = hashlib.sha256(student.encode()).hexdigest()[:12]
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in student)[:60]
        return self.dir / f"{safe}-{digest}.pkl"

    def save(self, student: str, header: CacheHeader, execution: Any) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        path = self.path_for(student)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as fh:
                pickle.dump(header, fh, protocol=pickle.HIGHEST_PROTOCOL)
                pickle.dump(execution, fh, protocol=pickle.HIGHEST_PROTOCOL)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def header(self, student: str) -> CacheHeader | None:
        """The header, or None when there is no cache entry or it is from another format."""
        loaded = self._load(student, body=False)
        return loaded[0] if loaded else None

    def execution(self, student: str) -> Any | None:
        """The cached `Execution`, or None."""
        loaded = self._load(student, body=True)
        return loaded[1] if loaded else None

    def _load(self, student: str, body: bool) -> tuple[CacheHeader, Any] | None:
        try:
            with self.path_for(student).open("rb") as fh:
                # Written by this grader from validated plain data, in a folder only it uses.
                header = pickle.load(fh)
                if not isinstance(header, CacheHeader) or header.format != CACHE_FORMAT:
                    return None
                return header, (pickle.load(fh) if body else None)
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001  (truncated, or from an incompatible grader: re-execute)
            return None
