"""Fast tests of what the kernel side installs (figure log, output caps, forbidden-call log) and of the
set-up and probe code as the kernel runs them: here in a plain IPython shell in a subprocess where
the grader's package cannot be imported, as in the sandbox. No kernel is started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest

from grader.capture import read_probe_answer
from grader.probes import (
    CallOp,
    CallsLogOp,
    FiguresOp,
    InputArg,
    ModulesOp,
    Request,
    ValueOp,
)
from grader.sandbox.kernel import probe_code, setup_code
from grader.sandbox.kernel_side.figures import FigureLog, summarize_figure
from grader.sandbox.kernel_side.hooks import (
    DROPPED_NOTICE,
    CellWatch,
    log_forbidden_calls,
    logged_callable,
)

matplotlib.use("Agg")
import matplotlib.pyplot as plt

# ---- figure summaries ----------------------------------------------------------------------------


def test_scatter_of_three_classes_has_three_colour_groups_and_images_are_counted() -> None:
    fig, (scatter, image, _) = plt.subplots(1, 3)
    for label in range(3):
        scatter.scatter([label, label + 1], [0, 1], label=str(label))
    image.imshow(np.eye(3))
    summary = summarize_figure(fig, 7)
    plt.close(fig)
    assert summary is not None
    assert (summary["execution_count"], summary["data_axes"], summary["image_axes"]) == (7, 2, 1)
    first, second, third = summary["axes"]
    assert (first["collections"], first["color_groups"]) == (3, 3)
    assert (second["images"], third["has_data"]) == (1, False)


def test_colour_mapped_scatter_counts_its_distinct_values() -> None:
    fig, ax = plt.subplots()
    ax.scatter(range(6), range(6), c=[0, 1, 2, 3, 3, 3])
    summary = summarize_figure(fig, 1)
    plt.close(fig)
    assert summary["axes"][0]["color_groups"] == 4


def test_empty_figure_is_not_logged_and_a_figure_is_logged_once_per_cell() -> None:
    shell = types.SimpleNamespace(execution_count=1)
    log = FigureLog(shell)
    empty, _ = plt.subplots()
    drawn, ax = plt.subplots()
    ax.plot([1, 2])
    for fig in (empty, drawn, drawn):
        log.record(fig)
    shell.execution_count = 2
    log.record(drawn)
    plt.close("all")
    assert [f["execution_count"] for f in log.items] == [1, 2]


# ---- output caps and the forbidden-call log ------------------------------------------------------


def test_cell_printing_over_its_cap_is_cut_with_a_notice_and_the_next_cell_may_print() -> None:
    written: list[str] = []
    watch = CellWatch(10)
    write = watch.capped(written.append)
    watch.on_pre_run_cell()
    write("12345")
    write("67890abc")
    write("more")
    assert "".join(written) == "1234567890" + DROPPED_NOTICE
    watch.on_pre_run_cell()
    write("again")
    assert written[-1] == "again" and watch.cells == 2


def test_forbidden_call_is_logged_only_from_the_notebooks_own_code(
        monkeypatch: pytest.MonkeyPatch) -> None:
    library = types.ModuleType("fakelib")
    library.cov = lambda x: f"cov of {x}"
    monkeypatch.setitem(sys.modules, "fakelib", library)
    calls: list[dict[str, Any]] = []
    watch = CellWatch(100)
    watch.cells = 4
    log_forbidden_calls(["fakelib.cov", "fakelib.missing", "nosuchlib.f"], calls, watch)
    assert library.cov.__wrapped__ is not None and library.cov.__name__ == "<lambda>"
    assert library.cov(1) == "cov of 1" and calls == []  # called by a library (this test)
    notebook = {"__name__": "__main__", "fakelib": library}
    exec("c = fakelib.cov(2)", notebook)  # noqa: S102
    assert notebook["c"] == "cov of 2"
    assert calls == [{"call": "fakelib.cov", "execution_count": 4}]


def test_wrapper_of_a_forbidden_callable_behaves_as_a_method_like_the_original() -> None:
    class Thing:
        def size(self) -> int:
            return 3

    Thing.size = logged_callable(Thing.size, "Thing.size", [], CellWatch(1))
    assert Thing().size() == 3


# ---- loading from source text ----------------------------------------------------------------------


REGISTERED_MODULES_KEEP_THEIR_BUILTINS = """
import builtins, sys
from grader.sandbox.kernel_side.boot import register_modules
register_modules([("fakepkg", "<fakepkg>", None),
                  ("fakepkg.a", "a.py", "def size(x):\\n    return len(x)\\n"),
                  ("fakepkg.b", "b.py", "from fakepkg.a import size\\n\\ndef twice(x):\\n"
                                        "    return 2 * size(x)\\n")])
builtins.len = lambda x: -1  # what a notebook might do later
package = sys.modules["fakepkg"]
print(sys.modules["fakepkg.b"].twice([1, 2]), package.__path__, package.b is sys.modules["fakepkg.b"])
"""


def test_registered_modules_import_each_other_and_keep_the_builtins_of_their_registration() -> None:
    # in a child: patching builtins.len in this process would break pytest-xdist's own threads
    done = subprocess.run([sys.executable, "-c", REGISTERED_MODULES_KEEP_THEIR_BUILTINS],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.stdout.split() == ["4", "[]", "True"], done.stderr


# ---- set-up and probe code in an IPython shell without the grader's package ----------------------

CHILD = """
import json, sys
save, dumps = open, json.dumps  # the child's own report must survive the notebook's patches
spec = json.load(open(sys.argv[1]))


class NoGrader:
    # As in the sandbox: the grader's package is not importable; all must come from the set-up.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "grader":
            raise ImportError(f"{name} is not visible in the sandbox")


class OutStream:
    # Like ipykernel's streams: a Python object, whose write the kernel side can wrap.
    def __init__(self, real):
        self.real = real

    def write(self, text):
        return self.real.write(text)

    def __getattr__(self, name):
        return getattr(self.real, name)


sys.meta_path.insert(0, NoGrader())
sys.stdout = OutStream(sys.stdout)
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
report = {}
names = set(shell.user_ns)
shell.run_cell(spec["setup"], silent=True).raise_error()
report["setup_added"] = sorted(set(shell.user_ns) - names)
report["modules"] = {n: getattr(m, "__file__", None) for n, m in sys.modules.items()
                     if n.split(".")[0] == "grader"}
report["cells"] = [shell.run_cell(c, store_history=True).success for c in spec["cells"]]
names = set(shell.user_ns)
shell.run_cell(spec["probe"], silent=True).raise_error()
report["probe_changed"] = sorted(set(shell.user_ns) ^ names)
with save(spec["report"], "w") as fh:
    fh.write(dumps(report))
"""

CELLS = [
    """
    import builtins, json
    import numpy as np
    import matplotlib.pyplot as plt
    X = np.arange(6.0).reshape(2, 3)
    def center(A):
        return A - A.mean(0)
    C = np.cov(X)
    plt.scatter([1, 2], [3, 4])
    plt.close("all")  # as the inline backend's show() does: the figure is summarised first
    """,
    "print('x' * 5000)",
    """
    json.dump = lambda obj, fh, *args, **kwargs: fh.write('{"forged": {"ok": true}}')
    json.dumps = lambda *args, **kwargs: '{}'
    np.savez = lambda *args, **kwargs: None
    np.array = lambda *args, **kwargs: np.zeros(3)
    builtins.print = lambda *args, **kwargs: None
    X = X + 1
    """,
]


@pytest.fixture(scope="module")
def shell_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Set up the kernel side in a fresh IPython shell, run CELLS, probe once; what came back."""
    tmp = tmp_path_factory.mktemp("shell")
    np.savez(tmp / "in.npz", x=np.array([[1.0, 3.0], [3.0, 5.0]]))
    request = Request({"0:0": ValueOp("X"), "0:1": CallOp("center", (InputArg("x"),)),
                       "0:2": CallsLogOp(), "0:3": ValueOp("C"), "0:4": ModulesOp(),
                       "0:5": ValueOp("center"), "figures": FiguresOp()},
                      2**20, str(tmp / "in.npz"))
    (tmp / "req.json").write_text(json.dumps(request.to_dict()))
    spec = {"setup": setup_code(["numpy.cov"], 1000),
            "cells": [textwrap.dedent(c).strip() for c in CELLS],
            "probe": probe_code(tmp / "req.json", tmp / "out.json", tmp / "out.npz"),
            "report": str(tmp / "report.json")}
    (tmp / "spec.json").write_text(json.dumps(spec))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(IPYTHONDIR=str(tmp / "ipython"), MPLBACKEND="Agg", MPLCONFIGDIR=str(tmp / "mpl"))
    child = subprocess.run([sys.executable, "-c", CHILD, str(tmp / "spec.json")], cwd=tmp,
                           env=env, capture_output=True, text=True, timeout=120, check=False)
    assert (tmp / "report.json").is_file(), child.stderr[-3000:]
    report = json.loads((tmp / "report.json").read_text())
    report["stdout"] = child.stdout
    report["answer"] = read_probe_answer(tmp / "out.json", tmp / "out.npz", 2**20)
    return report


def test_setup_loads_the_kernel_side_from_source_under_the_graders_names(shell_run) -> None:
    modules = shell_run["modules"]
    assert modules["grader"] == "<grader>" and modules["grader.sandbox"] == "<grader.sandbox>"
    for name in ("grader.probes", "grader.sandbox.kernel_side.entry",
                 "grader.sandbox.kernel_side.operations"):
        assert Path(modules[name]).name == name.rpartition(".")[2] + ".py"
    assert shell_run["cells"] == [True, True, True]


def test_setup_and_probes_add_no_name_to_the_students_namespace(shell_run) -> None:
    assert shell_run["setup_added"] == [] and shell_run["probe_changed"] == []


def test_patched_json_numpy_and_print_do_not_change_what_the_grader_receives(shell_run) -> None:
    answer = shell_run["answer"]
    assert "forged" not in answer
    assert np.array_equal(answer["0:0"]["value"], np.arange(6.0).reshape(2, 3) + 1)
    assert answer["0:1"]["result"].tolist() == [[-1.0, -1.0], [1.0, 1.0]]
    assert answer["0:3"]["value"].shape == (2, 2) and answer["0:4"]["modules"] == []
    assert (answer["0:5"]["ok"], answer["0:5"]["kind"]) == (True, "callable")


def test_hooks_log_the_forbidden_call_and_the_figure_closed_in_the_cell(shell_run) -> None:
    answer = shell_run["answer"]
    assert answer["0:2"]["calls"] == [{"call": "numpy.cov", "execution_count": 1}]
    [figure] = answer["figures"]["figures"]
    # IPython's counter, already advanced while the first cell runs (the calls log counts cells)
    assert figure["execution_count"] == 2 and figure["axes"][0]["collections"] == 1


def test_cell_flooding_its_output_is_cut_in_the_kernel(shell_run) -> None:
    assert "x" * 1000 + DROPPED_NOTICE in shell_run["stdout"]
    assert "x" * 1001 not in shell_run["stdout"]
