"""The fidelity corpus (submissions/src/fidelity/) graded end to end on both data profiles: every
correct solution earns every automatic point, every mutant loses points in its question only.

Each (assignment, profile) is graded once, as a class of notebooks through `run_batch` with 2
workers (`submissions.fidelity.grade_corpus`, the settings docs/fidelity.md is made with), and
each case is one test reading that result. Lab 9's cases are here, hw2's in
test_fidelity_hw2.py: two modules, which pytest-xdist runs side by side. Marked `slow` (part of a plain `pytest`, as .ci/run runs
it) and `fidelity` (`pytest -m fidelity` runs the corpus alone). Confined unless
GRADER_TEST_CONFINE=0. The MNIST profile needs ../shared/data/mnist next to the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import confine_examples_from_env

from submissions import fidelity

pytestmark = [pytest.mark.fidelity, pytest.mark.slow]



def cases(assignment: str) -> list[str]:
    return [c.name for c in fidelity.cases(assignment)]


@pytest.fixture(scope="session")
def corpus_verdicts(tmp_path_factory: pytest.TempPathFactory, grade_cache_dir: Path):
    """`verdicts(assignment, profile)` -> {case: CaseVerdict}, each class graded once."""
    graded: dict[tuple[str, str], dict[str, fidelity.CaseVerdict]] = {}

    def verdicts(assignment: str, profile: str) -> dict[str, fidelity.CaseVerdict]:
        chosen = fidelity.PROFILES[profile]
        if chosen.data_dir is not None and not chosen.data_dir.is_dir():
            pytest.skip(f"no MNIST files at {chosen.data_dir}")
        if (assignment, profile) not in graded:
            work = tmp_path_factory.mktemp(f"fidelity-{assignment}-{profile}")
            found = fidelity.grade_corpus(assignment, chosen, work, grade_cache_dir,
                                          confine_examples_from_env())
            graded[assignment, profile] = {v.case.name: v for v in found}
        return graded[assignment, profile]

    return verdicts


def assert_expected_verdict(verdicts, assignment: str, case: str, profile: str) -> None:
    verdict = verdicts(assignment, profile)[case]
    assert not verdict.fatal, verdict.fatal
    assert set(verdict.lost) == set(verdict.case.lose), (
        f"{assignment}/{case} on {profile}: lost points in {verdict.lost or 'nothing'}, "
        f"expected {list(verdict.case.lose) or 'full marks'}")


@pytest.mark.parametrize("profile", list(fidelity.PROFILES))
@pytest.mark.parametrize("case", cases("lab9"))
def test_lab9_case_gets_its_expected_verdict(case: str, profile: str, corpus_verdicts) -> None:
    assert_expected_verdict(corpus_verdicts, "lab9", case, profile)


def test_the_corpus_has_8_correct_solutions_and_8_mutants_per_assignment() -> None:
    for assignment in ("lab9", "hw2"):
        found = fidelity.cases(assignment)
        assert sum(c.correct for c in found) >= 8 and sum(not c.correct for c in found) >= 8
        assert all(len(c.lose) == 1 for c in found if not c.correct)  # one question each
