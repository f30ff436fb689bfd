"""Where the data come from: the offline "digits" profile or a directory of MNIST IDX files.

`load_data(source)` takes nothing (scikit-learn's bundled 8x8 digits resized to MNIST's 28x28) or a
directory of MNIST IDX files and returns a `DataBundle`, split train / test / hidden by a seeded,
class-stratified order. Results are cached per process.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.data.bundle import IMAGE_SIDE, DataBundle, DataError, Split, make_bundle, read_only
from grader.data.idx import file_key, read_idx_file

IMAGES_MAGIC = 2051  # IDX: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # IDX: unsigned bytes, 1 dimension
FULL_MNIST_TRAIN = 60_000

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
MNIST_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

DIGITS_TRAIN, DIGITS_TEST = 1_100, 300  # of 1,797; the other 397 are held out
T10K_TRAIN_FRACTION, T10K_TEST_FRACTION = 0.7, 0.1  # 7,000 / 1,000 / 2,000 of 10,000


@dataclass(frozen=True)
class _Limits:
    train: int | None
    test: int | None
    hidden: int | None



def load_data(
    source: Path | None = None,
    *,
    train_limit: int | None = None,
    test_limit: int | None = None,
    hidden_limit: int | None = None,
    seed: int = 0,
) -> DataBundle:
    """Load the "digits" profile (`source=None`) or the "mnist" profile from directory `source`.

    A limit keeps only the first N images of that split (the seeded order is class-stratified, so a
    prefix keeps roughly the class balance). The result is cached per process; its arrays are
    read-only.
    """
    limits = _Limits(
        _check_limit("train_limit", train_limit),
        _check_limit("test_limit", test_limit),
        _check_limit("hidden_limit", hidden_limit),
    )
    if source is None:
        return _load_digits_bundle(seed, limits)
    directory = Path(source).resolve()
    if not directory.is_dir():
        raise DataError(f"MNIST directory {directory} does not exist or is not a directory")
    files = _find_mnist_files(directory)
    # The files' sizes and times are part of the cache key, so an edited directory is re-read.
    return _load_mnist_bundle(tuple(file_key(path) for path in files), seed, limits)


def _check_limit(name: str, limit: int | None) -> int | None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"{name} must be a non-negative int or None, got {limit!r}")
    return limit


@functools.lru_cache(maxsize=8)
def _load_digits_bundle(seed: int, limits: _Limits) -> DataBundle:
    images, labels = _digits_28x28()
    order = _stratified_order(labels, seed)
    cuts = (DIGITS_TRAIN, DIGITS_TRAIN + DIGITS_TEST)
    train, test, hidden = _limit_splits(_split_by_order(images, labels, order, cuts), limits)
    description = (
        "scikit-learn digits resized to 28x28: "
        f"{train.size:,} train / {test.size:,} test / {hidden.size:,} held out"
    )
    return make_bundle("digits", description, False, train, test, hidden)


@functools.lru_cache(maxsize=1)
def _digits_28x28() -> tuple[np.ndarray, np.ndarray]:
    """The 28x28 digits, from the user's cache (about 10 ms) or built and cached (about 1.5 s)."""
    cached = _digits_cache_file()
    try:
        with np.load(cached, allow_pickle=False) as npz:
            images, labels = npz["images"], npz["labels"]
        if images.shape == (labels.shape[0], IMAGE_SIDE, IMAGE_SIDE) and images.dtype == np.uint8:
            return read_only(images), read_only(labels.astype(np.int64))
    except (OSError, KeyError, ValueError):
        pass  # not built yet, or unreadable: build it
    images, labels = _build_digits_28x28()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_name(f".{cached.name}.{os.getpid()}.tmp.npz")
        np.savez(temporary, images=images, labels=labels)
        os.replace(temporary, cached)
    except OSError:
        pass  # a read-only home: built again next time, same arrays
    return images, labels


def _digits_cache_file() -> Path:
    """Keyed by the versions that make the arrays (the data set ships with scikit-learn; the
    resize is scipy's), so an upgrade builds them afresh."""
    versions = []
    for dist in ("scikit-learn", "scipy"):
        try:
            versions.append(importlib.metadata.version(dist))
        except importlib.metadata.PackageNotFoundError:
            versions.append("none")
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return home / "nbgrade-ml" / "data" / f"digits28-sklearn{versions[0]}-scipy{versions[1]}.npz"


def _build_digits_28x28() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 digits (8x8, 0..16) drawn like MNIST: 20x20 ink in a 28x28 canvas."""
    # Imported here: sklearn.datasets alone costs about 0.6 s, which the mnist profile never needs.
    from scipy import ndimage
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = digits.images.astype(np.float64)
    # One call over the stack; factor 1 on the first axis leaves images independent.
    big = ndimage.zoom(small, (1, 20 / 8, 20 / 8), order=1)
    ink = np.rint(np.clip(big, 0.0, 16.0) * (255.0 / 16.0)).astype(np.uint8)
    margin = (IMAGE_SIDE - ink.shape[1]) // 2
    canvas = np.zeros((ink.shape[0], IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
    canvas[:, margin : margin + ink.shape[1], margin : margin + ink.shape[2]] = ink
    return read_only(canvas), read_only(digits.target.astype(np.int64))


def _find_mnist_files(directory: Path) -> tuple[Path, ...]:
    """The IDX files to read: (t10k images, t10k labels) or (+ train images, train labels)."""
    found = {name: _find_idx_file(directory, name) for name in MNIST_FILES}
    if not any(found.values()):
        expected = ", ".join(f"{name}[.gz]" for name in MNIST_FILES)
        raise DataError(
            f"{directory}: no MNIST files; expected {expected} (the two t10k files are enough)"
        )
    for images, labels in ((TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)):
        if bool(found[images]) != bool(found[labels]):
            have, missing = (images, labels) if found[images] else (labels, images)
            raise DataError(f"{directory}: has {have} but not {missing}[.gz]")
    if not found[TEST_IMAGES]:
        raise DataError(
            f"{directory}: has the training files but not {TEST_IMAGES}[.gz] and "
            f"{TEST_LABELS}[.gz], which the test and held-out splits come from"
        )
    names = MNIST_FILES if found[TRAIN_IMAGES] else (TEST_IMAGES, TEST_LABELS)
    return tuple(path for name in names if (path := found[name]) is not None)


def _find_idx_file(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=8)
def _load_mnist_bundle(
    file_keys: tuple[tuple[str, int, int], ...], seed: int, limits: _Limits
) -> DataBundle:
    paths = [Path(key[0]) for key in file_keys]
    t10k_images, t10k_labels = _read_mnist_pair(paths[-2], paths[-1])
    order = _stratified_order(t10k_labels, seed)
    n = t10k_labels.shape[0]
    if len(paths) == 4:
        train = Split(*_read_mnist_pair(paths[0], paths[1]))
        test, hidden = _split_by_order(t10k_images, t10k_labels, order, (n // 2,))
        official_size = train.size
        train, test, hidden = _limit_splits((train, test, hidden), limits)
        full = official_size == FULL_MNIST_TRAIN and train.size == FULL_MNIST_TRAIN
        kept = "the official training set"
        if train.size < official_size:
            kept = f"the first {train.size:,} of the official {official_size:,} training images"
        description = (
            f"MNIST: {train.size:,} train ({kept}) / {test.size:,} test / "
            f"{hidden.size:,} held out (both from the official t10k set)"
        )
        return make_bundle("mnist", description, full, train, test, hidden)
    n_train = round(n * T10K_TRAIN_FRACTION)
    cuts = (n_train, n_train + round(n * T10K_TEST_FRACTION))
    splits = _split_by_order(t10k_images, t10k_labels, order, cuts)
    train, test, hidden = _limit_splits(splits, limits)
    description = (
        f"MNIST official test set (t10k) split three ways: {train.size:,} train / "
        f"{test.size:,} test / {hidden.size:,} held out"
    )
    return make_bundle("mnist", description, False, train, test, hidden)


def _read_mnist_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N,28,28) uint8 and labels (N,) int64 from one images file and one labels file."""
    images = _read_idx_expecting(images_path, IMAGES_MAGIC, "images")
    labels = _read_idx_expecting(labels_path, LABELS_MAGIC, "labels")
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        side = "x".join(str(d) for d in images.shape[1:])
        raise DataError(f"{images_path.name}: images are {side}, expected 28x28")
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path.name}: label {labels.max()} is outside 0..9")
    if labels.shape[0] != images.shape[0]:
        raise DataError(
            f"{labels_path.name}: {labels.shape[0]:,} labels for "
            f"{images.shape[0]:,} images in {images_path.name}"
        )
    return images, read_only(labels.astype(np.int64))


def _read_idx_expecting(path: Path, magic: int, kind: str) -> np.ndarray:
    found, array = read_idx_file(path)
    if found != magic:
        raise DataError(f"{path.name}: magic {found}, expected {magic} ({kind})")
    return array


def _stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """A seeded permutation in which every prefix holds each class in about its overall share.

    Each class is shuffled, its k-th member (of n) gets the key (k + jitter) / n, and all items are
    sorted by key: contiguous chunks (train / test / hidden) and prefixes (limits) stay stratified.
    """
    rng = np.random.default_rng(seed)
    keys = np.empty(labels.shape[0], dtype=np.float64)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        keys[members] = (np.arange(members.size) + rng.random(members.size)) / members.size
    return np.argsort(keys, kind="stable")


def _split_by_order(
    images: np.ndarray, labels: np.ndarray, order: np.ndarray, cuts: Sequence[int]
) -> tuple[Split, ...]:
    return tuple(
        Split(read_only(images[part]), read_only(labels[part])) for part in np.split(order, cuts)
    )


def _limit_splits(splits: Sequence[Split], limits: _Limits) -> tuple[Split, Split, Split]:
    train, test, hidden = splits
    return (
        _first(train, limits.train),
        _first(test, limits.test),
        _first(hidden, limits.hidden),
    )


def _first(split: Split, limit: int | None) -> Split:
    if limit is None or limit >= split.size:
        return split
    return Split(split.images[:limit], split.labels[:limit])


