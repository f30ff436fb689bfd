"""Kernel settings: a `GradeConfig` and a working folder -> the `SessionConfig` of its kernel (the
rubric's limits and timeouts, the kernels' threads, matplotlib's font list built once)."""

from __future__ import annotations

from pathlib import Path

from grader.config import GradeConfig
from grader.sandbox.kernel import SessionConfig


def session_config(config: GradeConfig, workdir: Path) -> SessionConfig:
    """The settings of a kernel for `config`'s notebooks, working in `workdir`."""
    ex, lim = config.rubric.execution, config.rubric.limits
    limits = config.limits
    if limits is None and config.confine:
        from grader.sandbox.confine import Limits

        limits = Limits(
            cpu_seconds=lim.cpu_seconds, memory_bytes=int(lim.memory_gb * 2**30),
            max_processes=lim.max_processes, max_open_files=lim.max_open_files,
            max_file_bytes=lim.max_file_mb * 2**20, threads=config.kernel_threads,
            disk_bytes=lim.disk_mb * 2**20,
            answer_bytes=int(lim.max_capture_mb * 2**20) + 64 * 2**20,
        )
    font_cache = config.font_cache
    if font_cache is None and config.confine and config.cache_dir is not None:
        font_cache = _font_cache(config.cache_dir / "matplotlib-fonts")
    return SessionConfig(
        workdir=workdir,
        cell_timeout=config.cell_timeout or ex.cell_timeout,
        startup_timeout=ex.startup_timeout,
        probe_timeout=ex.probe_timeout,
        interrupt_grace=ex.interrupt_grace,
        max_output_bytes=int(lim.max_output_mb * 2**20),
        confine=config.confine,
        limits=limits,
        forbidden_calls=list(config.rubric.forbidden_calls),
        font_cache=font_cache,
        threads=config.kernel_threads,
    )


def _font_cache(path: Path) -> Path | None:
    """matplotlib's font list, built once (in a sandbox) and reused by every kernel."""
    from grader.sandbox.host import build_font_cache

    if any(path.glob("fontlist-*.json")):
        return path
    try:
        return build_font_cache(path)
    except Exception:  # noqa: BLE001  (kernels then rebuild it themselves: slower, still correct)
        return None
