"""Gradescope bundle: a rubric -> a folder (and its zip) that Gradescope's autograder runs.

`write_bundle(rubric_path, to, ...)` writes `setup.sh` and `run_autograder` (Gradescope runs them as
root in its container: https://gradescope-autograders.readthedocs.io/en/latest/specs/), a copy of the
grader's source (`nbgrade-ml/`: grader/, reference/, rubrics/, pyproject.toml, setup.sh), the
rubric's own folder when it lives outside the grader (`course/`), `--data` files if given
(`data/`), and `autograder.zip` holding all of it with both scripts at the top. `run_autograder`
grades the one notebook in /autograder/submission into /autograder/out and copies its student-safe
results.json to /autograder/results/. Gradescope's container is the isolation there, so the
bundle grades with `--unsafe-no-sandbox` unless `sandbox=True` (bubblewrap needs user namespaces,
which such containers usually lack).
"""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.rubric import load_rubric

REPO = Path(__file__).resolve().parents[1]
GRADER_PARTS = ("grader", "reference", "rubrics", "pyproject.toml", "setup.sh")
SOURCE = "/autograder/source"

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when the autograder image is built.
set -euo pipefail
apt-get update -qq
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    apt-get install -y -qq python3.11 python3.11-venv
    ln -sf "$(command -v python3.11)" /usr/local/bin/python3
fi
apt-get install -y -qq python3-venv bubblewrap >/dev/null || true
cd {source}/nbgrade-ml
./setup.sh
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission: grade the notebook, hand back results.json.
set -uo pipefail
results=/autograder/results/results.json
mkdir -p /autograder/results /autograder/out /tmp/nbgrade
notebook=$(find /autograder/submission -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | head -n 1)
if [ -z "$notebook" ]; then
    echo '{{"score": 0, "output": "No .ipynb notebook was found in the submission.", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}}' > "$results"
    exit 0
fi
cp "$notebook" /tmp/nbgrade/submission.ipynb
cd {source}/nbgrade-ml
.venv/bin/grade /tmp/nbgrade/submission.ipynb --rubric {rubric} --out /autograder/out {flags}
status=$?
if [ -f /autograder/out/gradescope/submission/results.json ]; then
    cp /autograder/out/gradescope/submission/results.json "$results"
else
    echo '{{"score": 0, "output": "The grader could not grade this notebook (exit status '"$status"'); the instructor has been told.", "visibility": "visible", "stdout_visibility": "visible", "tests": []}}' > "$results"
fi
"""


@dataclass(frozen=True)
class Bundle:
    folder: Path
    zip_path: Path
    rubric_in_bundle: str  # the rubric's path as run_autograder names it


def _copy(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", ".cache"))
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def write_bundle(rubric_path: Path, to: Path, data_dir: Path | None = None,
                 sandbox: bool = False) -> Bundle:
    """Write the bundle for `rubric_path` into `to` (ValueError for a rubric that does not load
    or a folder that is not empty)."""
    load_rubric(rubric_path)  # refuses a broken rubric (file:line:column) before writing
    if to.exists() and any(to.iterdir()):
        raise ValueError(f"{to} is not empty: write the bundle into a new folder")
    source = to / "nbgrade-ml"
    for part in GRADER_PARTS:
        _copy(REPO / part, source / part)
    real = rubric_path.resolve()
    if real.is_relative_to(REPO / "rubrics"):  # the grader's own assignments
        rubric_in_bundle = real.relative_to(REPO).as_posix()
    else:  # a folder of its own: copied whole (reference, handout, data files)
        _copy(real.parent, to / "course")
        rubric_in_bundle = f"{SOURCE}/course/{real.name}"
    flags = [] if sandbox else ["--unsafe-no-sandbox"]
    if data_dir is not None:
        _copy(data_dir, to / "data")
        flags += ["--data", f"{SOURCE}/data"]
    scripts = {"setup.sh": SETUP.format(source=SOURCE),
               "run_autograder": RUN.format(source=SOURCE, rubric=rubric_in_bundle,
                                            flags=" ".join(flags))}
    for name, text in scripts.items():
        (to / name).write_text(text)
        os.chmod(to / name, 0o755)
    zip_path = to / "autograder.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(to.rglob("*")):
            if path.is_file() and path != zip_path:
                archive.write(path, path.relative_to(to).as_posix())
    return Bundle(to, zip_path, rubric_in_bundle)
