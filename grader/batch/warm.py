"""Pre-warmed kernels for a class: the next notebook's sandbox and kernel, started ahead.

While a worker process grades one notebook, `WarmKernels.prepare(config)` starts, in a background
thread, what the next one will need: a fresh working folder with the provisioned data, a confined
kernel started there with the grader's kernel side installed, and the handout's usual imports done
(numpy, torch, matplotlib: `warm_imports(rubric)`). `take()` hands it to the next notebook, which
then starts at its first cell. A kernel serves exactly one notebook: it has run nothing of any
student's, and is never given back. Whatever is still prepared when the process exits is closed.
"""

from __future__ import annotations

import ast
import shutil
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path

from grader.config import GradeConfig
from grader.data import provision
from grader.handout import HandoutError, handout_for
from grader.kernel_config import session_config
from grader.sandbox.kernel import KernelSession, KernelStartError
from grader.sandbox.plumbing import temp_prefix


@dataclass
class PreparedKernel:
    """A started kernel in a provisioned folder, for one notebook (grader/execute.py)."""

    session: KernelSession
    workdir: Path
    timings: dict[str, float] = field(default_factory=dict)  # done ahead, in the background

    def close(self) -> None:
        try:
            self.session.close()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def warm_imports(config: GradeConfig) -> list[str]:
    """The top-level packages the handout's given cells import (numpy, torch, matplotlib, ...):
    what every notebook of the class imports first. Nothing when the rubric names no handout."""
    rubric = config.rubric
    try:
        handout = handout_for(rubric.handout, rubric.folder, rubric.source_path)
    except HandoutError:
        return []
    names: list[str] = []
    for cell in handout.cells if handout else ():
        if cell.role != "given":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found = [node.module]
            else:
                continue
            names += [n.split(".")[0] for n in found if n.split(".")[0] not in names]
    return names


def warm_code(modules: list[str]) -> str:
    """Import each module if it can be; binds no name in the notebook's namespace."""
    return f"[__import__('importlib').util.find_spec(m) and __import__(m) for m in {modules!r}]"


def new_prepared(config: GradeConfig) -> PreparedKernel:
    """A fresh provisioned folder and a kernel session not yet started. Its folders are made in the
    calling thread (the worker's own), so that a stopped worker's clean-up, which removes this
    process's temp folders, always finds them (batch/lifetime.py)."""
    mark = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix=temp_prefix("grade-warm")))
    try:
        provision(config.data, workdir, config.rubric.data.layouts)
        session = KernelSession(session_config(config, workdir))
        session.reply_poll_seconds = 1  # started on the warm-kernel thread (kernel.py)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return PreparedKernel(session, workdir, {"provision": time.perf_counter() - mark})


def start_prepared(prepared: PreparedKernel, config: GradeConfig) -> PreparedKernel:
    """Start its kernel and do the warm imports (raises KernelStartError)."""
    session = prepared.session
    try:
        session.start()
        prepared.timings.update(session.timings)
        modules = warm_imports(config)
        if modules:
            mark = time.perf_counter()
            session.run_silent(warm_code(modules), config.rubric.execution.startup_timeout)
            prepared.timings["warm imports"] = time.perf_counter() - mark
    except BaseException:
        prepared.close()
        raise
    session.timings.clear()  # said as the prepared kernel's, not the notebook's
    if session.client is not None:
        session.client.shell_timeout_interval = 5  # nbclient's default, for the notebook's cells
    return prepared


class WarmKernels:
    """At most one kernel prepared ahead, for the next notebook this process grades.

    Kernels are started on one long-lived thread: a sandbox dies with the thread that started it
    (bubblewrap's --die-with-parent is the parent-death signal, which follows the thread), so that
    thread lives as long as this object: the process.
    """

    def __init__(self) -> None:
        self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warm-kernel")
        self._next: Future[PreparedKernel] | None = None
        self._folders: PreparedKernel | None = None  # what the pending one made, to remove

    def prepare(self, config: GradeConfig) -> None:
        """Start preparing a kernel in the background (unless one is being prepared or ready)."""
        if self._next is None:
            self._folders = new_prepared(config)
            self._next = self._starter.submit(start_prepared, self._folders, config)

    def take(self, wait: float = 120.0) -> PreparedKernel | None:
        """The prepared kernel, once ready (waiting for it at most `wait` seconds), or None."""
        if self._next is None:
            return None
        try:
            prepared = self._next.result(wait)
        except FutureTimeout:
            return None  # still starting: the notebook starts its own; this one is used later
        except (KernelStartError, OSError):
            prepared = None  # the notebook starts its own kernel, and says why if that fails
        self._next = self._folders = None
        if prepared is not None and not prepared.session.alive:
            prepared.close()
            return None
        return prepared

    def close(self) -> None:
        """Close what is prepared (at the end of the process), without waiting for a kernel
        still starting: it dies with this process; its folders are removed here."""
        future, folders, self._next, self._folders = self._next, self._folders, None, None
        if future is not None and future.done() and future.exception() is None:
            future.result().close()
        elif folders is not None:
            shutil.rmtree(folders.workdir, ignore_errors=True)
            shutil.rmtree(folders.session.runtime_dir, ignore_errors=True)
        self._starter.shutdown(wait=False, cancel_futures=True)
