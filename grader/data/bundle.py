"""The data bundle: what a notebook trains and tests on, and the held-out split the grader keeps.

A `DataBundle` holds three `Split`s (train and test, which notebooks see; hidden, which only the
grader's checks see), optionally an assignment's own files (`course`, see course.py), and a
fingerprint over all of it. Every array a bundle holds is read-only: bundles are cached in-process
and shared between callers.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from grader.data.course import CourseData

IMAGE_SIDE = 28


class DataError(ValueError):
    """Data the grader cannot use: a missing, truncated or malformed file, or an unknown layout."""


@dataclass(frozen=True, eq=False)  # eq=False: comparing arrays elementwise has no single truth
class Split:
    """Images and their labels, in the shape MNIST has."""

    images: np.ndarray  # (N, 28, 28) uint8, 0..255
    labels: np.ndarray  # (N,) int64, 0..9

    @property
    def size(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True, eq=False)
class DataBundle:
    """One data profile: what a notebook trains and tests on, and what the grader holds out."""

    profile: str  # "digits" or "mnist"
    description: str  # one sentence for reports
    full_mnist: bool  # True only when train is the official 60,000-image training set
    train: Split  # what the notebook trains on
    test: Split  # the public test split the notebook sees
    hidden: Split  # held out: never written into a notebook's directory
    fingerprint: str  # short sha256 over all arrays and course files (caches, records)
    course: CourseData | None = None  # the assignment's own files (rubric `data: files/hidden`)

    def summary(self) -> dict[str, Any]:
        """Plain JSON-able facts about the bundle, for reports and result records."""
        facts = {
            "profile": self.profile,
            "description": self.description,
            "sizes": {"train": self.train.size, "test": self.test.size, "hidden": self.hidden.size},
            "fingerprint": self.fingerprint,
            "full_mnist": self.full_mnist,
        }
        if self.course is not None:
            facts["course"] = self.course.summary()
        return facts

    def course_file(self, name: str | Path) -> Path:
        """The path of one of the rubric's data files or hidden files (for reference functions)."""
        if self.course is None:
            raise DataError(f"'{name}': this rubric declares no data files or hidden files")
        return self.course.file(name)

    def with_course(self, course: CourseData, only: bool = False) -> DataBundle:
        """This bundle with an assignment's own files, fingerprinted together; `only`: notebooks
        get no MNIST layout, so reports describe the assignment's files alone."""
        both = hashlib.sha256(f"{self.fingerprint}|{course.fingerprint}".encode()).hexdigest()
        description = course.describe() if only else f"{self.description}; {course.describe()}"
        return dataclasses.replace(self, course=course, fingerprint=both[:16],
                                   description=description)



def make_bundle(
    profile: str, description: str, full_mnist: bool, train: Split, test: Split, hidden: Split
) -> DataBundle:
    return DataBundle(
        profile=profile,
        description=description,
        full_mnist=full_mnist,
        train=train,
        test=test,
        hidden=hidden,
        fingerprint=_fingerprint((train, test, hidden)),
    )


def _fingerprint(splits: Sequence[Split]) -> str:
    digest = hashlib.sha256()
    for split in splits:
        for array in (split.images, split.labels):
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()[:16]


def read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array

