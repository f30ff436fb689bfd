"""The first grader code the kernel runs: it makes the kernel side importable from source text.

The grader's package is not visible inside the sandbox, so `grader.sandbox.kernel.setup_code` sends
this module's source and the kernel side's, and calls `start` before any student cell runs. Modules
are registered in `sys.modules` under the grader's own names, so the same absolute imports work on
both sides; parent packages are bare modules. Each module gets a private copy of the builtins as they
are now, so a notebook that later rebinds `builtins.print`, `isinstance` or `open` does not change
what the kernel side's functions call.
"""

from __future__ import annotations

import builtins
import linecache
import sys
import types

ENTRY = "grader.sandbox.kernel_side.entry"


def register_modules(modules: list[tuple[str, str, str | None]]) -> None:
    """Create and execute each (name, file name, source or None for a bare package) in order:
    parents first, then every module after those it imports."""
    private_builtins = dict(vars(builtins))
    for name, filename, source in modules:
        module = types.ModuleType(name)
        module.__file__ = filename
        module.__builtins__ = private_builtins
        parent, _, child = name.rpartition(".")
        if source is None:
            module.__path__ = []
            module.__package__ = name
        else:
            module.__package__ = parent
        sys.modules[name] = module
        if parent:
            setattr(sys.modules[parent], child, module)
        if source is not None:
            # tracebacks of probe errors show the kernel side's lines, though no file holds them
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            exec(compile(source, filename, "exec"), module.__dict__)  # noqa: S102  (our own code)


def start(modules: list[tuple[str, str, str | None]], forbidden_calls: list[str],
          max_cell_output: int, cells_before: int = 0) -> None:
    """Register the kernel side, then install its hooks (entry.install)."""
    register_modules(modules)
    sys.modules[ENTRY].install(forbidden_calls, max_cell_output, cells_before)
