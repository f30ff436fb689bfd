"""The sandbox's mount plan, checked without starting a sandbox (fast tier)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from grader.sandbox.confine import SandboxSpec
from grader.sandbox.fsview import inner_mounts, outer_mounts


def test_a_python_installed_under_tmp_stays_visible_under_the_sandboxs_own_tmp(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = "/tmp/clone/.venv"
    for name in ("prefix", "exec_prefix"):
        monkeypatch.setattr(sys, name, venv)
    spec = SandboxSpec(workdir=tmp_path / "work", runtime_dir=tmp_path / "run")
    spec.workdir.mkdir()
    assert venv in outer_mounts(spec)
    inner = inner_mounts(spec)
    tmp_bind = inner.index("/tmp") - 2  # ["--bind", SPACE/tmp, "/tmp"]
    rebind = inner.index(venv) - 1
    assert inner[rebind:rebind + 3] == ["--ro-bind", venv, venv] and rebind > tmp_bind


def test_a_python_outside_tmp_is_bound_once_by_the_outer_layer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("prefix", "exec_prefix", "base_prefix", "base_exec_prefix"):
        monkeypatch.setattr(sys, name, "/opt/python")
    spec = SandboxSpec(workdir=tmp_path / "work", runtime_dir=tmp_path / "run")
    spec.workdir.mkdir()
    assert "/opt/python" in outer_mounts(spec)
    assert "/opt/python" not in inner_mounts(spec)
