"""The kernel side's two entry points: `install` once at kernel start, `run` once per probe.

`run(request_path, out_json, out_npz)` reads a `grader.probes.Request` (JSON) and the grader's input
arrays (pickle-free NPZ), answers every operation against the student's namespace, and writes the
answers: a JSON tree whose arrays live in an uncompressed NPZ. The grader validates both; nothing
here is trusted. Neither entry point adds a name to the student's namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from json import JSONDecoder, JSONEncoder
from sys import stderr, stdout
from typing import Any

from IPython import get_ipython
from numpy import load, ndarray, savez

from grader.probes import Request
from grader.sandbox.kernel_side.figures import FigureLog, install_figure_hooks
from grader.sandbox.kernel_side.hooks import CellWatch, cap_streams, log_forbidden_calls
from grader.sandbox.kernel_side.operations import ProbeContext, answer
from grader.sandbox.kernel_side.originals import watch_torch_import
from grader.sandbox.kernel_side.plain import ArraySink

# Encoder and decoder of our own: json.dump / json.load as the notebook may rebind them are not used.
_encode_json = JSONEncoder().encode
_decode_json = JSONDecoder().decode


@dataclass
class Installed:
    """What `install` set up, for every later probe."""

    shell: Any  # IPython's shell: the student's namespace is shell.user_ns
    figures: FigureLog
    calls: list[dict[str, Any]]


_installed: list[Installed] = []  # the one installation of this kernel


def install(forbidden_calls: list[str], max_cell_output: int, cells_before: int = 0) -> None:
    """Set up the figure log, per-cell output caps and forbidden-call logging; once per kernel.

    `cells_before`: cells that earlier kernels ran for this notebook (after a restart), so that
    the cell numbers in the forbidden-call log go on where theirs stopped."""
    if _installed:
        raise RuntimeError("the grader's kernel side is already installed")
    watch_torch_import()
    shell = get_ipython()
    figures = FigureLog(shell)
    calls: list[dict[str, Any]] = []
    install_figure_hooks(figures, shell)
    watch = CellWatch(max_cell_output, [stdout, stderr])
    watch.cells = cells_before
    cap_streams(watch, watch.streams)
    shell.events.register("pre_run_cell", watch.on_pre_run_cell)
    log_forbidden_calls(forbidden_calls, calls, watch)
    _installed.append(Installed(shell, figures, calls))


def run(request_path: str, out_json: str, out_npz: str) -> None:
    """Answer the request at `request_path`; write the answers to `out_json` and `out_npz`."""
    installed = _installed[0]
    with open(request_path, encoding="utf-8") as fh:
        request = Request.from_dict(_decode_json(fh.read()))
    ctx = ProbeContext(installed.shell.user_ns, read_inputs(request.inputs),
                       ArraySink(request.max_array_bytes), installed.figures.items,
                       installed.calls)
    answers = {op_id: answer(op, ctx) for op_id, op in request.ops.items()}
    write_answers(answers, ctx.sink, out_json, out_npz)


def read_inputs(path: str | None) -> dict[str, ndarray]:
    if not path:
        return {}
    with load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def write_answers(answers: dict[str, Any], sink: ArraySink, out_json: str, out_npz: str) -> None:
    savez(out_npz, **sink.arrays)
    text = _encode_json(answers)
    with open(out_json, "w", encoding="utf-8") as fh:
        fh.write(text)
