"""Kernel threads: one notebook gets every core, a batch shares them, a rubric may fix them."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import config as config_module
from grader.config import GradeConfig
from grader.rubric import load_rubric

RUBRICS = Path(__file__).resolve().parents[1] / "rubrics"


@pytest.fixture
def eight_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_module, "cores", lambda: 8)


def lab9_config(**kw) -> GradeConfig:
    return GradeConfig(rubric=load_rubric(RUBRICS / "lab9.yaml"), data=None, **kw)  # type: ignore[arg-type]


def test_one_notebook_alone_gets_every_core_as_plain_execution_would(eight_cores) -> None:
    assert lab9_config().kernel_threads == 8


def test_a_batch_of_3_workers_shares_the_cores_rounding_down(eight_cores) -> None:
    assert lab9_config(kernels_at_once=3).kernel_threads == 2


def test_more_workers_than_cores_still_give_each_kernel_one_thread(eight_cores) -> None:
    assert lab9_config(kernels_at_once=16).kernel_threads == 1


def test_a_rubric_that_fixes_threads_overrides_the_derived_count(eight_cores) -> None:
    config = lab9_config()
    limits = config.rubric.limits.model_copy(update={"threads": 3})
    rubric = config.rubric.model_copy(update={"limits": limits})
    assert GradeConfig(rubric=rubric, data=None).kernel_threads == 3  # type: ignore[arg-type]
