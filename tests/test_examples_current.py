"""The example notebooks are what their sources in submissions/src/ give, and the sources read as
documented (submissions/src/README.md). Fast: no kernel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import REPO

GOLDEN = REPO / "tests" / "golden" / "example_verdicts.json"

from submissions import examples
from submissions.examples import SourceError, read_answers, read_handout

BUILD = REPO / "submissions" / "build.py"


def run_build(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BUILD), *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_every_example_notebook_is_what_its_sources_give() -> None:
    stale = examples.stale_notebooks()
    assert stale == [], ("stale example notebooks (run `python submissions/build.py`): "
                         f"{[(str(p), why) for p, why in stale]}")


def test_build_check_exits_0_when_every_notebook_is_current() -> None:
    done = run_build("--check")
    assert (done.returncode, done.stdout) == (0, "every example notebook is current\n"), done


def test_build_check_lists_each_stale_notebook_and_exits_1_writing_nothing(
        tmp_path: Path) -> None:
    shutil.copytree(REPO / "submissions", tmp_path, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.py", "src", "__pycache__"))
    changed = tmp_path / "carol.ipynb"
    nb = nbformat.read(changed, as_version=4)
    nb.cells[-1].source += "\n# edited by hand"
    nbformat.write(nb, changed)
    (tmp_path / "hw2" / "erin.ipynb").unlink()
    (tmp_path / "hw2" / "frank.ipynb").write_text("{}")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.ipynb")}

    done = run_build("--check", "--notebooks", str(tmp_path))
    assert done.returncode == 1, done
    assert done.stdout.splitlines() == [f"{tmp_path}/carol.ipynb: differs from its sources",
                                        f"{tmp_path}/hw2/erin.ipynb: missing",
                                        f"{tmp_path}/hw2/frank.ipynb: no source gives it"]
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.ipynb")} == before


def test_build_writes_only_the_stale_notebooks(tmp_path: Path) -> None:
    shutil.copytree(REPO / "submissions", tmp_path, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.py", "src", "__pycache__"))
    (tmp_path / "bob.ipynb").write_text("{}")
    done = run_build("--notebooks", str(tmp_path))
    assert (done.returncode, done.stdout) == (0, f"wrote {tmp_path}/bob.ipynb\n"), done
    assert (tmp_path / "bob.ipynb").read_bytes() == (REPO / "submissions/bob.ipynb").read_bytes()


# --------------------------------------------------------------------------------------------
# The API the tests build notebooks with
# --------------------------------------------------------------------------------------------


def test_notebook_cells_are_the_example_notebooks_cells() -> None:
    for example in examples.example_notebooks():
        cells = examples.notebook_cells(example.assignment,
                                        examples.answers(example.assignment, example.student))
        nb = nbformat.read(example.path, as_version=4)
        assert cells == [(c.cell_type, c.source) for c in nb.cells], example.student


def test_carol_is_alice_with_lr_0_5_in_both_1_3_training_loops() -> None:
    alice, carol = examples.answers("lab9", "alice"), examples.answers("lab9", "carol")
    differ = sorted(slot for slot in alice if alice[slot] != carol[slot])
    assert differ == ["ex13_train", "ex13_train4"]
    assert all(carol[s] == alice[s].replace("lr=0.05", "lr=0.5") for s in differ)


def test_bob_omits_the_4_filter_cells_entirely() -> None:
    bob = examples.answers("lab9", "bob")
    assert [s for s, answer in bob.items() if answer is None] == [
        "ex13_model4", "ex13_train4", "ex13_plot4"]
    assert len(examples.notebook_cells("lab9", bob)) == len(
        examples.notebook_cells("lab9", examples.answers("lab9", "alice"))) - 3


def test_given_cells_are_found_by_name() -> None:
    assert examples.given("lab9", "ex11") == "## Exercise 1.1 – Build a synthetic 1D data set"
    assert examples.given("lab9", "copy_untrained") == "untrained_model = copy.deepcopy(model)"
    assert "```" in examples.given("lab9", "ex13_text")  # a fence in prose stays prose
    with pytest.raises(KeyError, match="no given cell 'ex99'"):
        examples.given("lab9", "ex99")


def test_answers_for_an_unknown_slot_are_refused() -> None:
    alice = examples.answers("lab9", "alice")
    with pytest.raises(KeyError, match="no answer slot"):
        examples.notebook_cells("lab9", {**alice, "ex15": "pass"})
    with pytest.raises(KeyError, match="no answer for lab9 slot"):
        examples.notebook_cells("lab9", {k: v for k, v in alice.items() if k != "ex14"})


# --------------------------------------------------------------------------------------------
# Mistakes in a source file name the file and line
# --------------------------------------------------------------------------------------------

HANDOUT = """\
---
about: a two-question handout
---
<!-- title -->
# T

```python given=setup
import numpy as np
```

<!-- q1 -->
## Question 1

```python answer=q1
```

```markdown answer=q1_why
```
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_handout_template_reads_as_named_cells_and_slots(tmp_path: Path) -> None:
    cells = read_handout(write(tmp_path / "t.md", HANDOUT))
    assert [(c.kind, c.name, c.source, c.slot) for c in cells] == [
        ("markdown", "title", "# T", False), ("code", "setup", "import numpy as np", False),
        ("markdown", "q1", "## Question 1", False), ("code", "q1", "", True),
        ("markdown", "q1_why", "", True)]


@pytest.mark.parametrize("broken, said", [
    (HANDOUT.replace("```python answer=q1\n", "```python answer=q1\nx = 1\n"),
     "t.md:14: answer slot 'q1' must be empty"),
    (HANDOUT.replace("<!-- title -->\n", ""), "t.md:4: text outside any cell"),
    (HANDOUT.replace("answer=q1_why", "answer=q1"), "t.md:17: answer slot 'q1' is already"),
    (HANDOUT.replace("python given=setup", "python gven=setup"), "t.md:7: cannot read fence"),
    (HANDOUT + "```python given=late\nx = 1\n", "t.md:19: fenced block is never closed"),
])
def test_broken_handout_template_names_file_and_line(tmp_path: Path, broken: str,
                                                     said: str) -> None:
    with pytest.raises(SourceError, match=said):
        read_handout(write(tmp_path / "t.md", broken))


SLOTS = {"q1": "code", "q1_why": "markdown"}
ANN = "---\nabout: correct\n---\nNotes are fine.\n\n```python answer=q1\nx = 1\n```\n\n" \
      "```markdown answer=q1_why\nBecause.\n```\n"


def test_student_based_on_another_overrides_and_omits_slots(tmp_path: Path) -> None:
    ann = write(tmp_path / "ann.md", ANN)
    ben = write(tmp_path / "ben.md", "---\nbased_on: ann\nomit: [q1_why]\n---\n"
                                     "```python answer=q1\nx = 2\n```\n")
    assert read_answers(ann, SLOTS) == {"q1": "x = 1", "q1_why": "Because."}
    assert read_answers(ben, SLOTS) == {"q1": "x = 2", "q1_why": None}


@pytest.mark.parametrize("broken, said", [
    (ANN.replace("answer=q1\n", "answer=q2\n"), "ann.md:6: answer=q2 is no answer slot"),
    (ANN.replace("markdown answer=q1_why", "python answer=q1_why"),
     "ann.md:10: slot 'q1_why' holds a markdown cell, not code"),
    (ANN.replace("```markdown answer=q1_why\nBecause.\n```\n", ""),
     "ann.md:1: no answer for slot\\(s\\) q1_why"),
    (ANN.replace("python answer=q1", "python"), "ann.md:6: a fenced block here needs"),
    (ANN.replace("about: correct", "based_on: ann"), "ann.md:1: based_on 'ann' makes a cycle"),
    (ANN.replace("about: correct", "omit: [q1]"), "ann.md:6: slot 'q1' is answered twice"),
])
def test_broken_student_file_names_file_and_line(tmp_path: Path, broken: str, said: str) -> None:
    with pytest.raises(SourceError, match=said):
        read_answers(write(tmp_path / "ann.md", broken), SLOTS)


def test_golden_verdicts_cover_every_example_notebook() -> None:
    names = [e.student for e in examples.example_notebooks()]
    assert sorted(json.loads(GOLDEN.read_text())) == sorted(names)
    assert len(set(names)) == len(names)  # graded_example finds an example by its name
