"""Provisioning a notebook's working directory: the train and test splits in the layouts notebooks expect.

`provision(bundle, workdir, layouts)` writes train and test (never hidden): the lab's
`mnist_train.npz` / `mnist_test.npz`, or torchvision's `MNIST/raw/` IDX files; then the assignment's
own public files, if the bundle has any (course.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from grader.data.bundle import DataBundle, DataError, Split
from grader.data.course import copy_course_files
from grader.data.idx import temporary_name, write_idx
from grader.data.sources import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS


def provision(bundle: DataBundle, workdir: Path, layouts: Sequence[str]) -> list[Path]:
    """Write the bundle's train and test splits (never hidden) into `workdir` in each layout, and
    the bundle's course files (never the hidden ones).

    Returns the paths written. Files are replaced by rename, so a symlink a previous run left in
    `workdir` is replaced rather than written through.
    """
    names = [layouts] if isinstance(layouts, str) else list(dict.fromkeys(layouts))
    unknown = [name for name in names if name not in _LAYOUT_WRITERS]
    if unknown:
        known = ", ".join(_LAYOUT_WRITERS)
        raise DataError(f"unknown data layout {unknown[0]!r}; known layouts: {known}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in names:
        written.extend(_LAYOUT_WRITERS[name](bundle.train, bundle.test, workdir))
    if bundle.course is not None:
        written.extend(copy_course_files(bundle.course, workdir))
    return written


def _write_npz_layout(train: Split, test: Split, workdir: Path) -> list[Path]:
    """The lab's files: X (N,784) uint8 and y (N,) int64 per split."""
    return [
        _write_npz(workdir / "mnist_train.npz", train),
        _write_npz(workdir / "mnist_test.npz", test),
    ]


def _write_npz(path: Path, split: Split) -> Path:
    temporary = temporary_name(path)
    with temporary.open("wb") as handle:  # a file object: np.savez would append ".npz" to a name
        np.savez(handle, X=split.images.reshape(split.size, -1), y=split.labels)
    os.replace(temporary, path)
    return path


def _write_torchvision_layout(train: Split, test: Split, workdir: Path) -> list[Path]:
    """torchvision's `MNIST/raw/`: with these four uncompressed files it never downloads."""
    raw = workdir / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    return [
        write_idx(raw / TRAIN_IMAGES, train.images),
        write_idx(raw / TRAIN_LABELS, train.labels),
        write_idx(raw / TEST_IMAGES, test.images),
        write_idx(raw / TEST_LABELS, test.labels),
    ]


_LAYOUT_WRITERS: dict[str, Callable[[Split, Split, Path], list[Path]]] = {
    "npz": _write_npz_layout,
    "torchvision": _write_torchvision_layout,
}
