"""Sandbox stage: run a notebook's cells one at a time in a separate (confined) kernel process.

Takes cells and probe requests; returns plain records: each cell's outputs, error, duration, and for a
probe the path of the JSON/NPZ files the kernel wrote. The code that answers probes (the kernel side,
grader/sandbox/kernel_side/) is sent as source text when the kernel starts, before any student cell. A cell that raises or times out is recorded and
execution goes on; a dead or hung kernel ends the session and is reported, never raised past here.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import nbformat
from jupyter_client.kernelspec import NATIVE_KERNEL_NAME, KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from grader.probes import Request
from grader.results import CellError
from grader.sandbox.fsview import ANSWERS
from grader.sandbox.plumbing import OutputTail, copy_from_sandbox, sandbox_root_pid, temp_prefix

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TIMEOUT_MARK = "grader_cell_timeout"


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


class KernelStartError(RuntimeError):
    """The kernel could not be started (bad environment, sandbox failure, start-up timeout)."""


@dataclass
class CellRun:
    index: int
    outputs: list
    error: CellError | None
    seconds: float
    kernel_dead: bool = False


@dataclass
class SessionConfig:
    workdir: Path  # the kernel's cwd: holds only the provisioned data
    cell_timeout: float
    startup_timeout: float
    probe_timeout: float
    max_output_bytes: int
    interrupt_grace: float = 15.0  # seconds an interrupted kernel has to answer again
    confine: bool = True
    limits: object | None = None  # grader.sandbox.confine.Limits
    forbidden_calls: list[str] = field(default_factory=list)
    font_cache: Path | None = None  # matplotlib font list built once (confine.build_font_cache)
    cells_before: int = 0  # cells earlier kernels ran for this notebook: this one counts on
    threads: int = 1  # torch/BLAS threads of an unconfined kernel (a confined one: its limits)


class _NativeKernelSpecs(KernelSpecManager):
    """The grader's own Python as the kernel, without searching Jupyter's kernel folders: that
    search imports IPython into the grader (about 0.5 s) to find the same ipykernel command."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name != NATIVE_KERNEL_NAME:
            return super().get_kernel_spec(kernel_name)
        return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f",
                                "{connection_file}"],
                          display_name="Python 3 (ipykernel)", language="python",
                          metadata={"debugger": True})


def _make_kernel_manager(config: SessionConfig, runtime_dir: Path) -> AsyncKernelManager:
    specs = _NativeKernelSpecs()
    if not config.confine:
        return AsyncKernelManager(kernel_name=NATIVE_KERNEL_NAME, kernel_spec_manager=specs)
    from grader.sandbox.confine import Limits, SandboxSpec
    from grader.sandbox.managers import AsyncConfinedKernelManager

    spec = SandboxSpec(workdir=config.workdir, runtime_dir=runtime_dir,
                       limits=config.limits or Limits(), font_cache=config.font_cache)
    return AsyncConfinedKernelManager(spec, kernel_name=NATIVE_KERNEL_NAME,
                                      kernel_spec_manager=specs)


class KernelSession:
    """One kernel for one notebook. Use as a context manager; never raises for student behaviour."""

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.runtime_dir = Path(tempfile.mkdtemp(prefix=temp_prefix("grader-rt")))
        # What the grader writes (requests, inputs) lives where the student cannot write, so no
        # symlink planted by student code can redirect the grader's writes; answers come back
        # through a folder the kernel owns and are opened without following links.
        self.io_dir = self.runtime_dir / "in"
        self.answers_dir = self.runtime_dir / "answers"  # answers copied out of the sandbox
        self.output = OutputTail()
        self.nb = nbformat.v4.new_notebook()
        self.client: NotebookClient | None = None
        self.dead_reason = ""
        self.output_bytes = 0
        self._probe_seq = 0
        self._last_reply: dict | None = None  # the last cell's execute reply (on_cell_executed)
        self.timings: dict[str, float] = {}  # "sandbox start", "kernel start", "kernel setup"
        # nbclient's wait between checks for a reply (seconds, >= 1): on a thread other than the
        # main one a reply is seen only at the next check, so kernels started ahead use 1
        self.reply_poll_seconds = 5

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        km = _make_kernel_manager(self.config, self.runtime_dir)
        if not self.config.confine:
            (self.config.workdir / ".grader-out").mkdir(exist_ok=True)
        self.client = NotebookClient(
            self.nb,
            km=km,
            timeout=max(1, math.ceil(self.config.cell_timeout)),
            startup_timeout=int(self.config.startup_timeout),
            allow_errors=True,
            interrupt_on_timeout=True,
            # nbclient answers a timed-out cell with this reply (after interrupting the kernel);
            # the marker key tells it from a real reply.
            error_on_timeout={"ename": "CellTimeoutError", "evalue": "", "traceback": [],
                              _TIMEOUT_MARK: True},
            record_timing=False,
            shutdown_kernel="immediate",  # a graceful shutdown waits ~1.3 s for torch to unload
            resources={"metadata": {"path": str(self.config.workdir)}},
            # what the kernel process writes to fds 1 and 2 (os.write, C code) is not forwarded
            # as notebook output, which nothing caps in time: it goes to the bounded tail
            extra_arguments=["--IPKernelApp.capture_fd_output=False"],
            shell_timeout_interval=self.reply_poll_seconds,
        )
        self.client.on_cell_executed = self._remember_reply
        try:
            mark = time.perf_counter()
            self.client.start_new_kernel(cwd=str(self.config.workdir), **self._launch_kwargs())
            self.output.started()
            self.timings["sandbox start"] = time.perf_counter() - mark
            mark = time.perf_counter()
            self.client.start_new_kernel_client()  # returns once the kernel answers
            self.timings["kernel start"] = time.perf_counter() - mark
            if self.config.confine:
                from grader.sandbox.host import seal_runtime_dir

                seal_runtime_dir(km.spec)
            self.io_dir.mkdir(mode=0o755)
            self.answers_dir.mkdir(mode=0o700)
        except Exception as exc:  # noqa: BLE001  (any start-up failure is one clear message)
            self.dead_reason = f"the kernel did not start: {type(exc).__name__}: {exc}"
            self.close()
            raise KernelStartError(self.dead_reason) from None
        setup = setup_code(self.config.forbidden_calls, self.config.max_output_bytes,
                           self.config.cells_before)
        mark = time.perf_counter()
        reply = self._run_silent(setup, self.config.startup_timeout)
        self.timings["kernel setup"] = time.perf_counter() - mark
        if reply is None or reply.get("status") != "ok":
            self.dead_reason = f"the grader's kernel set-up failed: {reply}"
            raise KernelStartError(self.dead_reason)

    def _launch_kwargs(self) -> dict:
        """The kernel's own stdout and stderr go to a bounded tail (plumbing.OutputTail)."""
        kwargs: dict = {"stderr": self.output.write_fd, "stdout": self.output.write_fd}
        if not self.config.confine:  # the sandbox sets its own environment (confine.sandbox_env)
            from grader.sandbox.confine import THREAD_ENV_VARS

            threads = str(getattr(self.config.limits, "threads", None) or self.config.threads)
            kwargs["env"] = {**os.environ, **{name: threads for name in THREAD_ENV_VARS}}
        return kwargs

    def close(self) -> None:
        client, self.client = self.client, None
        try:
            if client is not None and client.km is not None:
                try:
                    client._cleanup_kernel()
                except Exception:  # noqa: BLE001, S110  (already dead or never started)
                    pass
        finally:  # even when interrupted (Ctrl-C, SIGTERM) while shutting the kernel down
            self.output.close()
            shutil.rmtree(self.runtime_dir, ignore_errors=True)

    @property
    def alive(self) -> bool:
        return self.client is not None and not self.dead_reason

    # -- cells ---------------------------------------------------------------------------------
    def run_cell(self, source: str, index: int, timeout: float | None = None) -> CellRun:
        """Execute one student cell; errors, timeouts and a dying kernel become data."""
        assert self.client is not None
        cell = nbformat.v4.new_code_cell(source)
        self.nb.cells = [cell]
        # nbclient treats a timeout of 0 as none at all: never round a short one down to that
        self.client.timeout = max(1, math.ceil(timeout or self.config.cell_timeout))
        start = time.perf_counter()
        try:
            self.client.execute_cell(cell, 0)
        except DeadKernelError:
            self.dead_reason = f"the kernel died while running cell {index}"
            return CellRun(index, cell.get("outputs", []), CellError(
                index, "DeadKernelError",
                "the kernel process died (crash, os._exit, out of memory or a resource limit)",
                "", source), time.perf_counter() - start, kernel_dead=True)
        except CellTimeoutError as exc:
            self.dead_reason = f"cell {index} timed out and the kernel did not recover"
            return CellRun(index, cell.get("outputs", []), CellError(
                index, "CellTimeoutError", str(exc).splitlines()[0], "", source),
                time.perf_counter() - start, kernel_dead=True)
        seconds = time.perf_counter() - start
        outputs = self._cap_outputs(cell.get("outputs", []))
        error = _error_from_outputs(outputs, index, source)
        reply, self._last_reply = self._last_reply, None
        if reply is not None and reply.get("content", {}).get(_TIMEOUT_MARK):
            # The outputs hold at most the interrupt's KeyboardInterrupt: say what happened.
            error = CellError(index, "CellTimeoutError",
                              f"the cell ran longer than {self.client.timeout:g} s and was stopped",
                              error.traceback if error is not None else "", source)
            if not self._responsive():
                self.dead_reason = (f"cell {index} timed out and the kernel did not respond "
                                    "afterwards")
                return CellRun(index, outputs, error, seconds, kernel_dead=True)
        return CellRun(index, outputs, error, seconds)

    def _remember_reply(self, cell: object, cell_index: int, execute_reply: dict | None) -> None:
        self._last_reply = execute_reply

    def _cap_outputs(self, outputs: list) -> list:
        """Keep at most max_output_bytes of output per notebook: the rest is summarised.

        The notice goes to stdout, which the report shows; a cell's error is always kept (it is
        trimmed when read), so printing a lot cannot hide that the cell raised.
        """
        kept: list = []
        dropped = False
        for out in outputs:
            if out.get("output_type") == "error":
                kept.append(out)
                continue
            size = len(json.dumps(out, default=str))
            if dropped or self.output_bytes + size > self.config.max_output_bytes:
                dropped = True
                self.output_bytes = self.config.max_output_bytes
                continue
            self.output_bytes += size
            kept.append(out)
        if dropped:
            limit = self.config.max_output_bytes / 2**20
            kept.append(nbformat.v4.new_output(
                "stream", name="stdout",
                text=f"[grader: output dropped: the notebook printed more than {limit:g} MB]\n"))
        return kept

    def _responsive(self) -> bool:
        reply = self._run_silent("pass", self.config.interrupt_grace)
        return reply is not None

    # -- probes --------------------------------------------------------------------------------
    def probe(self, request: Request) -> tuple[Path, Path] | str:
        """Have the kernel side answer a request; return (json, npz) paths or an error sentence."""
        if not self.alive:
            return self.dead_reason or "the kernel is not running"
        self._probe_seq += 1
        name = f"probe{self._probe_seq}"
        req_path = self.io_dir / f"{name}.req.json"
        if self.config.confine:  # written in the sandbox's own tmpfs, copied out afterwards
            inside = [f"{ANSWERS}/{name}.json", f"{ANSWERS}/{name}.npz"]
        else:
            inside = [str(self.config.workdir / ".grader-out" / f"{name}.{ext}")
                      for ext in ("json", "npz")]
            for p in inside:
                Path(p).unlink(missing_ok=True)  # unlink never follows a link
        req_path.write_text(json.dumps(request.to_dict()))
        code = probe_code(req_path, Path(inside[0]), Path(inside[1]))
        reply = self._run_silent(code, self.config.probe_timeout)
        if reply is None:
            if not self._responsive():
                self.dead_reason = "the kernel stopped responding while the grader inspected it"
            return f"inspecting the notebook's state timed out after {self.config.probe_timeout:g} s"
        if reply.get("status") != "ok":
            return f"inspecting the notebook's state failed: {reply.get('ename')}: " \
                   f"{reply.get('evalue')}"
        if not self.config.confine:
            out_json, out_npz = map(Path, inside)
        else:
            out_json, out_npz = (self.answers_dir / f"{name}.{ext}" for ext in ("json", "npz"))
            problem = self._copy_answers(inside, [out_json, out_npz], request.max_array_bytes)
            if problem:
                return f"inspecting the notebook's state produced no readable result: {problem}"
        if not out_json.is_file() or not out_npz.is_file():
            return "inspecting the notebook's state produced no result"
        return out_json, out_npz

    def _copy_answers(self, inside: list[str], dests: list[Path], max_bytes: int) -> str:
        """Copy the answer files out of the sandbox (capped: capture.py refuses oversize ones)."""
        launcher = getattr(getattr(self.client.km, "provisioner", None), "process", None)
        root_pid = sandbox_root_pid(launcher.pid) if launcher is not None else None
        if root_pid is None:
            return "the sandbox is gone"
        for path, dest, cap in zip(inside, dests, (64 * 2**20, max_bytes + 2**20)):
            problem = copy_from_sandbox(root_pid, path, dest, cap)
            if problem:
                return problem
        return ""

    def run_silent(self, code: str, timeout: float) -> dict | None:
        """Run grader code (no history, no output): the reply's content, or None on timeout."""
        return self._run_silent(code, timeout)

    def _run_silent(self, code: str, timeout: float) -> dict | None:
        """Execute grader code without history or output; the reply content, or None on timeout."""
        client = self.client
        if client is None or client.kc is None:
            return None
        msg_id = client.kc.execute(code, silent=True, store_history=False, allow_stdin=False,
                                   stop_on_error=False)
        saved = client.timeout
        client.timeout = max(1, int(timeout))
        try:
            reply = client.wait_for_reply(msg_id)
        except DeadKernelError:
            self.dead_reason = "the kernel died while the grader inspected it"
            return None
        finally:
            client.timeout = saved
        return reply["content"] if reply else None


# -- the kernel side, sent as source text -------------------------------------------------------------

_PACKAGES = ("grader", "grader.sandbox", "grader.sandbox.kernel_side")  # bare in the kernel
_BOOT = "grader.sandbox.kernel_side.boot"
_ENTRY = "grader.sandbox.kernel_side.entry"
_KERNEL_MODULES = (  # each after the modules it imports
    _BOOT,
    "grader.probes",
    "grader.sandbox.kernel_side.originals",
    "grader.sandbox.kernel_side.plain",
    "grader.sandbox.kernel_side.models",
    "grader.sandbox.kernel_side.arguments",
    "grader.sandbox.kernel_side.operations",
    "grader.sandbox.kernel_side.figures",
    "grader.sandbox.kernel_side.hooks",
    _ENTRY,
)


@functools.cache
def kernel_side_sources() -> tuple[tuple[str, str, str | None], ...]:
    """(module name, file, source; None for a bare package) of what the kernel side needs, in
    registration order; the files are read once per process."""
    sources: list[tuple[str, str, str | None]] = [(name, f"<{name}>", None) for name in _PACKAGES]
    for name in _KERNEL_MODULES:
        origin = importlib.util.find_spec(name).origin
        file = name.replace(".", "/") + ".py"  # as tracebacks name it: no path of this machine
        sources.append((name, file, Path(origin).read_text(encoding="utf-8")))
    return tuple(sources)


def setup_code(forbidden_calls: list[str], max_cell_output: int, cells_before: int = 0) -> str:
    """Code that loads the kernel side from its source text (boot.start) and installs its hooks.

    It binds no name in the student's namespace: boot runs in a globals dict of its own, the
    lambda's argument, and the execution is silent (no `_`).
    """
    sources = kernel_side_sources()
    _, boot_file, boot_source = next(s for s in sources if s[0] == _BOOT)
    return (f"(lambda g: (exec(compile({boot_source!r}, {boot_file!r}, 'exec'), g), "
            f"g['start']({sources!r}, {list(forbidden_calls)!r}, {int(max_cell_output)!r}, "
            f"{int(cells_before)!r})))"
            f"({{'__name__': {_BOOT!r}}})")


def probe_code(request_path: Path, out_json: Path, out_npz: Path) -> str:
    """Code calling the installed entry point on one request; it binds no name either."""
    return (f"__import__({_ENTRY!r}, fromlist=['run'])"
            f".run({str(request_path)!r}, {str(out_json)!r}, {str(out_npz)!r})")


_SILENT_ERRORS = {
    "MemoryError": "out of memory: the notebook asked for more than its memory limit",
    "KeyboardInterrupt": "the cell was interrupted",
}


def _error_from_outputs(outputs: list, index: int, source: str) -> CellError | None:
    for out in outputs:
        if out.get("output_type") == "error":
            ename = out.get("ename", "Error")
            evalue = strip_ansi(str(out.get("evalue", "")))[:2000]
            return CellError(
                cell_index=index,
                ename=ename,
                evalue=evalue or _SILENT_ERRORS.get(ename, ""),
                traceback=strip_ansi("\n".join(out.get("traceback", [])))[-8000:],
                source=source,
            )
    return None
