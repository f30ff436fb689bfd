"""The figure log: what the notebook drew, per figure, summarised while the figure still exists.

Under the inline backend `plt.show()` closes a cell's figures before the cell ends, so the log hooks
matplotlib's figure registry (`Gcf.destroy`, `Gcf.destroy_all`) as well as the end of each cell. A
summary counts, per axes, images, lines, collections and colour groups: enough to tell a scatter plot
of 10 classes from one of a single colour, or a grid of filters from a single image.
"""

from __future__ import annotations

from collections.abc import Callable
from sys import modules as loaded_modules
from typing import Any

from numpy import asarray, unique

MAX_MAPPED_VALUES = 100_000


class FigureLog:
    """Summaries of the figures drawn (`items`), each figure once per cell."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell  # IPython's shell: the execution count of the cell drawing
        self.items: list[dict[str, Any]] = []
        self._seen: set[tuple[int, int]] = set()

    def record(self, fig: Any) -> None:
        count = self.shell.execution_count
        if (id(fig), count) in self._seen:
            return
        self._seen.add((id(fig), count))
        summary = summarize_figure(fig, count)
        if summary is not None:
            self.items.append(summary)

    def record_open_figures(self) -> None:
        helpers = loaded_modules.get("matplotlib._pylab_helpers")
        if helpers is None:
            return
        for manager in list(helpers.Gcf.get_all_fig_managers()):
            self.record(manager.canvas.figure)

    def on_post_execute(self) -> None:
        try:
            self.record_open_figures()
        except Exception:  # noqa: BLE001, S110  (a broken figure must not break the cell)
            pass


def summarize_figure(fig: Any, execution_count: int) -> dict[str, Any] | None:
    """What a figure shows, or None when no axes has any data."""
    axes = [summarize_axes(ax) for ax in fig.get_axes()]
    if not any(a["has_data"] for a in axes):
        return None
    return {
        "execution_count": execution_count,
        "axes": axes,
        "data_axes": sum(1 for a in axes if a["has_data"]),
        "image_axes": sum(1 for a in axes if a["images"]),
    }


def summarize_axes(ax: Any) -> dict[str, Any]:
    return {
        "images": len(ax.images),
        "lines": len(ax.lines),
        "collections": len(ax.collections),
        "color_groups": color_groups(ax),
        "title": str(ax.get_title())[:100],
        "has_data": bool(ax.images or ax.lines or ax.collections or ax.patches),
    }


def color_groups(ax: Any) -> int:
    """How many colours the axes' collections use: colour-mapped values, or one face colour per
    collection (a scatter call per class)."""
    groups: set[tuple] = set()
    mapped = 0
    for coll in ax.collections:
        try:
            values = coll.get_array()
            if values is not None and len(values) > 1:
                mapped = max(mapped, len(unique(asarray(values)[:MAX_MAPPED_VALUES])))
                continue
            fc = coll.get_facecolors()
            if len(fc):
                groups.add(tuple(round(float(c), 3) for c in fc[0]))
            else:
                groups.add(("coll", id(coll)))
        except Exception:  # noqa: BLE001  (an odd collection still counts as one group)
            groups.add(("coll", id(coll)))
    return max(len(groups), mapped)


def install_figure_hooks(log: FigureLog, shell: Any) -> None:
    """Summarise figures when matplotlib closes them and at the end of every cell."""
    try:
        from matplotlib._pylab_helpers import Gcf
    except Exception:  # noqa: BLE001  (no matplotlib: nothing to draw with)
        Gcf = None
    if Gcf is not None:
        Gcf.destroy = classmethod(_recording_destroy(Gcf.destroy.__func__, log))
        Gcf.destroy_all = classmethod(_recording_destroy_all(Gcf.destroy_all.__func__, log))
    shell.events.register("post_execute", log.on_post_execute)


def _recording_destroy(destroy: Callable[..., Any], log: FigureLog) -> Callable[..., Any]:
    # A function closing over the original: it must stay a plain function to become a classmethod.
    def destroy_recorded(cls: Any, num: Any) -> Any:
        try:
            manager = num if hasattr(num, "canvas") else cls.figs.get(num)
            if manager is not None:
                log.record(manager.canvas.figure)
        except Exception:  # noqa: BLE001, S110  (summarising must never stop the close)
            pass
        return destroy(cls, num)

    return destroy_recorded


def _recording_destroy_all(destroy_all: Callable[..., Any], log: FigureLog) -> Callable[..., Any]:
    def destroy_all_recorded(cls: Any) -> Any:
        try:
            log.record_open_figures()
        except Exception:  # noqa: BLE001, S110  (summarising must never stop the close)
            pass
        return destroy_all(cls)

    return destroy_all_recorded
