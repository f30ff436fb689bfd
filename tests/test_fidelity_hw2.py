"""The fidelity corpus's hw2 cases (test_fidelity.py says how they are graded): a module of its
own, so that pytest-xdist's workers grade Lab 9's corpus and hw2's side by side."""

from __future__ import annotations

import pytest
from test_fidelity import assert_expected_verdict, cases, corpus_verdicts

from submissions import fidelity

pytestmark = [pytest.mark.fidelity, pytest.mark.slow]

__all__ = ["corpus_verdicts"]  # the fixture, shared with test_fidelity.py


@pytest.mark.parametrize("profile", list(fidelity.PROFILES))
@pytest.mark.parametrize("case", cases("hw2"))
def test_hw2_case_gets_its_expected_verdict(case: str, profile: str, corpus_verdicts) -> None:
    assert_expected_verdict(corpus_verdicts, "hw2", case, profile)
