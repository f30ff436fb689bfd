"""An assignment in a folder of its own: its reference loaded by path, its data provisioned.

No kernel: these load the ridge course folder (tests/fixtures/ridge, copied to a temporary folder)
the way `grade` does, and look at what a notebook's folder would receive. Grading it for real is
tests/test_course_folder.py.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from courses import RIDGE_TEXT, copy_ridge, edited

from grader.assignment import AssignmentError, load_assignment
from grader.batch.plan import reference_source_sha256
from grader.data import DataError, provision
from grader.expected import Reference, load_reference_module
from grader.rubric import parse_rubric


@pytest.fixture
def rubric(tmp_path: Path) -> Path:
    return copy_ridge(tmp_path / "course" / "ridge")


def load(rubric: Path, text: str | None = None):
    text = text if text is not None else rubric.read_text(encoding="utf-8")
    rubric.write_text(text, encoding="utf-8")
    return load_assignment(text, rubric, None, 300)


def test_reference_named_by_a_relative_path_is_loaded_from_the_rubrics_folder(
        rubric: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(rubric.parent.parent.parent)  # tmp: the rubric is course/ridge/rubric.yaml
    loaded = parse_rubric(rubric.read_text(), Path("course/ridge/rubric.yaml"))
    assert loaded.reference == str(rubric.parent.resolve() / "reference.py")
    module = load_reference_module(loaded.reference)
    assert Path(module.__file__) == rubric.parent.resolve() / "reference.py"
    assert module.__name__.startswith("_nbgrade_reference_")  # never `reference`, never shadowed


def test_bare_reference_name_still_means_a_module_of_the_graders_reference_package() -> None:
    assert load_reference_module("lab9").__name__ == "reference.lab9"


def test_the_skip_rule_hashes_the_reference_file_actually_used(rubric: Path) -> None:
    loaded = load(rubric).rubric
    before = reference_source_sha256(loaded.reference)
    assert before == hashlib.sha256((rubric.parent / "reference.py").read_bytes()).hexdigest()
    with (rubric.parent / "reference.py").open("a") as handle:
        handle.write("\n# edited\n")
    assert reference_source_sha256(loaded.reference) != before


def test_edited_reference_file_is_loaded_afresh(rubric: Path) -> None:
    first = load_reference_module(str(rubric.parent / "reference.py"))
    with (rubric.parent / "reference.py").open("a") as handle:
        handle.write("\nEDITED = True\n")
    second = load_reference_module(str(rubric.parent / "reference.py"))
    assert not hasattr(first, "EDITED") and second.EDITED is True


def test_notebook_folder_gets_the_data_folder_and_never_the_hidden_files(
        rubric: Path, tmp_path: Path) -> None:
    assignment = load(rubric)
    workdir = tmp_path / "work"
    provision(assignment.data, workdir, assignment.rubric.data.layouts)
    assert (workdir / "data" / "train.csv").read_bytes() == \
        (rubric.parent / "data" / "train.csv").read_bytes()
    found = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*"))
    assert found == ["data", "data/train.csv"]


def test_reference_functions_open_hidden_files_but_not_undeclared_ones(rubric: Path) -> None:
    data = load(rubric).data
    assert data.course_file("hidden/test.csv") == (rubric.parent / "hidden" / "test.csv").resolve()
    assert data.course_file("data/train.csv").is_file()  # inside a declared folder
    with pytest.raises(DataError, match="'reference.py' is not among the rubric's data files"):
        data.course_file("reference.py")


def test_changed_data_file_changes_the_data_fingerprint(rubric: Path) -> None:
    before = load(rubric).data.fingerprint
    with (rubric.parent / "hidden" / "test.csv").open("a") as handle:
        handle.write("0,0,0,0,0,0\n")
    assert load(rubric).data.fingerprint != before


WRITER = '''

def write_noise(folder):
    import numpy as np
    np.save(folder / "noise.npy", np.arange(4.0))


def write_nothing_well(folder):
    raise OSError("disk full")
'''


def test_data_writer_runs_once_and_its_files_reach_every_notebook(
        rubric: Path, tmp_path: Path) -> None:
    with (rubric.parent / "reference.py").open("a") as handle:
        handle.write(WRITER)
    assignment = load(rubric, edited(RIDGE_TEXT, "files: [data]",
                                     "files: [data]\n  writer: write_noise"))
    staged = assignment.data.course.staged
    for name in ("a", "b"):
        provision(assignment.data, tmp_path / name, [])
        assert (tmp_path / name / "noise.npy").is_file()
    assert sorted(os.listdir(staged)) == ["noise.npy"]


def test_data_writer_folder_is_named_for_the_stale_temp_clean_up(rubric: Path) -> None:
    from grader.batch.lifetime import remove_own_temp, remove_stale_temp

    with (rubric.parent / "reference.py").open("a") as handle:
        handle.write(WRITER)
    assignment = load(rubric, edited(RIDGE_TEXT, "files: [data]",
                                     "files: [data]\n  writer: write_noise"))
    staged = assignment.data.course.staged
    assert f"-p{os.getpid()}-" in staged.name
    assert staged not in remove_stale_temp(staged.parent)  # its grader (this process) is alive
    assert staged.is_dir()
    remove_own_temp(staged.parent)  # what a killed grader's successor does, by the pid
    assert not staged.exists()


def test_data_writer_that_raises_is_refused_at_the_writer_line(rubric: Path) -> None:
    with (rubric.parent / "reference.py").open("a") as handle:
        handle.write(WRITER)
    with pytest.raises(AssignmentError) as info:
        load(rubric, edited(RIDGE_TEXT, "files: [data]", "files: [data]\n  writer: "
                                                         "write_nothing_well"))
    assert str(info.value) == (f"{rubric}:13:3: data: writer: {rubric.parent.resolve()}/"
                               "reference.py: write_nothing_well raised OSError: disk full")


def test_reference_records_only_failures_on_the_rubrics_own_arguments(rubric: Path) -> None:
    assignment = load(rubric)
    reference = Reference(assignment.rubric.reference, assignment.data, None)
    with pytest.raises(Exception, match="ridge_fit raised"):
        # a student's values that do not fit: the reference rejects them with a ValueError
        reference.call("ridge_fit", np.ones((2, 2)), np.ones(3), 0.0, cache=False)
    assert reference.failures == []
    with pytest.raises(Exception, match="no function 'ridge_fitt'"):
        reference.call("ridge_fitt")
    assert reference.failures == [f"{assignment.rubric.reference} has no function 'ridge_fitt'"]
