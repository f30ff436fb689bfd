"""Soak (issue 13): 200 notebooks built in code, mixed (correct, wrong, hanging, crashing,
malformed), graded with 2 workers and graded again: every one gets its expected verdict, the re-run
skips them all, no process or temp folder is left, and the grader's memory stays flat.
`bench/soak.py` runs the same and prints its figures (docs/performance.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.soak import KINDS, soak

pytestmark = pytest.mark.slow

N = int(os.environ.get("GRADER_SOAK_N", "200"))


def test_200_mixed_notebooks_graded_twice_by_2_workers_leave_nothing_behind(
        tmp_path: Path) -> None:
    result = soak(N, tmp_path, workers=2)
    print(result)  # the figures, with -s
    assert result["mismatches"] == {}
    assert result["verdicts"] == {kind: N // len(KINDS) for kind in KINDS}
    malformed = N // len(KINDS)
    assert result["first_run"]["exit"] == result["second_run"]["exit"] == 1  # malformed ones
    assert f"{N - malformed} graded, {malformed} failed to grade, 0 skipped" in \
        result["first_run"]["summary"][0]
    assert f"0 graded, 0 failed to grade, {N} skipped" in result["second_run"]["summary"][0]
    assert result["processes_left"] == [] and result["temp_left"] == []
    rss = result["grader_rss"]
    assert rss["last_quarter_mib"] - rss["first_quarter_mib"] < 50, rss  # flat, not growing
