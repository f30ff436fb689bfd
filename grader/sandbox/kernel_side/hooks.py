"""What the kernel watches while student cells run: cells started, output per cell, forbidden calls.

Installed once, before the first student cell. A print loop cannot flood the grader with gigabytes of
stream messages (each cell's output is capped in the kernel); each forbidden callable (e.g.
`numpy.cov`) is wrapped so that calls from the notebook's own code are logged with the cell number,
however the code reached the function.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from sys import _getframe
from typing import Any

DROPPED_NOTICE = "\n[grader: this cell printed too much; the rest was dropped]\n"


class CellWatch:
    """Counts the student cells started (silent grader code fires no pre_run_cell) and what the
    current cell may still print.

    IPython (9.x) swaps each stream's `write` for the length of every cell and puts back what it
    found afterwards, which would undo a cap installed once: so the cap is put on again at the start
    of every student cell, inside IPython's swap.
    """

    def __init__(self, max_cell_output: int, streams: list[Any] | None = None) -> None:
        self.max_cell_output = max_cell_output
        self.cells = 0
        self.output_left = max_cell_output
        self.streams = list(streams or [])

    def on_pre_run_cell(self, *args: Any) -> None:
        self.cells += 1
        self.output_left = self.max_cell_output
        cap_streams(self, self.streams)

    def capped(self, write: Callable[[str], Any]) -> Callable[[str], Any]:
        """`write` (a stream's), keeping only what the cell may still print."""

        # Closes over the stream's original write, which it replaces on the stream object.
        def write_capped(text: str) -> Any:
            if self.output_left <= 0:
                return len(text)
            if len(text) > self.output_left:
                kept = text[:self.output_left]
                self.output_left = 0
                write(kept)
                return write(DROPPED_NOTICE)
            self.output_left -= len(text)
            return write(text)

        write_capped.grader_capped = True  # type: ignore[attr-defined]
        return write_capped


def cap_streams(watch: CellWatch, streams: list[Any]) -> None:
    """Cap each stream's current `write` (once: a write that is already capped stays as it is)."""
    for stream in streams:
        try:
            if getattr(stream.write, "grader_capped", False):
                continue
            stream.write = watch.capped(stream.write)
        except Exception:  # noqa: BLE001, S110  (a stream that cannot be wrapped stays as it is)
            pass


def logged_callable(original: Callable[..., Any], dotted: str, calls: list[dict[str, Any]],
                    watch: CellWatch) -> Callable[..., Any]:
    """`original`, logging each call made directly by the notebook's code (not by a library)."""

    # Closes over the original; a function (not an object) so it behaves as the original does
    # wherever it is used, e.g. as a method.
    def logged(*args: Any, **kwargs: Any) -> Any:
        if _getframe(1).f_globals.get("__name__") == "__main__":
            calls.append({"call": dotted, "execution_count": watch.cells})
        return original(*args, **kwargs)

    logged.__wrapped__ = original
    logged.__name__ = getattr(original, "__name__", dotted.rpartition(".")[2])
    logged.__doc__ = getattr(original, "__doc__", None)
    return logged


def log_forbidden_calls(forbidden_calls: list[str], calls: list[dict[str, Any]],
                        watch: CellWatch) -> None:
    """Replace each importable forbidden callable by its logging wrapper, where it is defined."""
    for dotted in forbidden_calls:
        modname, _, attr = dotted.rpartition(".")
        try:
            module = import_module(modname)
            original = getattr(module, attr)
        except Exception:  # noqa: BLE001, S112  (not installed, or no such name: nothing to log)
            continue
        setattr(module, attr, logged_callable(original, dotted, calls, watch))
