"""`grade gradescope-bundle`: the autograder zip Gradescope runs holds setup.sh and run_autograder at
its top, the grader's source and the rubric's own folder; the scripts are valid bash and grade the
submitted notebook into Gradescope's results file. Fast: nothing is installed or run."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from click.testing import CliRunner
from conftest import REPO

from grader.cli import main


def bundle(*args: str):
    return CliRunner().invoke(main, ["gradescope-bundle", *map(str, args)])


def test_bundle_for_a_shipped_rubric_runs_the_grader_on_the_submission(tmp_path: Path) -> None:
    done = bundle(REPO / "rubrics" / "lab9.yaml", "--to", tmp_path / "b")
    assert done.exit_code == 0, done.output
    names = zipfile.ZipFile(tmp_path / "b" / "autograder.zip").namelist()
    assert {"setup.sh", "run_autograder", "nbgrade-ml/grader/cli.py",
            "nbgrade-ml/rubrics/lab9.yaml", "nbgrade-ml/rubrics/handouts/lab9.ipynb",
            "nbgrade-ml/reference/lab9.py", "nbgrade-ml/pyproject.toml"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or ".venv" in n]
    run = (tmp_path / "b" / "run_autograder").read_text()
    assert "--rubric rubrics/lab9.yaml --out /autograder/out --unsafe-no-sandbox" in run
    assert "/autograder/out/gradescope/submission/results.json" in run
    for script in ("setup.sh", "run_autograder"):
        path = tmp_path / "b" / script
        assert path.stat().st_mode & 0o111
        assert subprocess.run(["bash", "-n", str(path)], check=False).returncode == 0


def test_bundle_for_a_course_folder_carries_the_folder(tmp_path: Path) -> None:
    rubric = REPO / "tests" / "fixtures" / "ridge" / "rubric.yaml"
    done = bundle(rubric, "--to", tmp_path / "b", "--sandbox")
    assert done.exit_code == 0, done.output
    assert (tmp_path / "b" / "course" / "rubric.yaml").is_file()
    assert (tmp_path / "b" / "course" / "reference.py").is_file()
    run = (tmp_path / "b" / "run_autograder").read_text()
    assert "--rubric /autograder/source/course/rubric.yaml --out /autograder/out \n" in run


def test_bundle_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("")
    done = bundle(REPO / "rubrics" / "lab9.yaml", "--to", tmp_path / "b")
    assert done.exit_code == 2 and "is not empty" in done.output
