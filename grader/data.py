"""The data the grader gives student notebooks, and the held-out split it keeps to itself.

`load_data(source)` takes nothing (the offline "digits" profile: scikit-learn's bundled 8x8 digits
resized to MNIST's 28x28) or a directory of MNIST IDX files (the "mnist" profile) and returns a
`DataBundle` of three `Split`s: `train` and `test`, which notebooks see, and `hidden`, which only the
grader's checks see. `provision(bundle, workdir, layouts)` writes train and test (never hidden) into a
notebook's working directory in the layouts notebooks expect: the lab's `mnist_train.npz` /
`mnist_test.npz`, or torchvision's `MNIST/raw/` IDX files.

Every array a bundle holds is read-only: bundles are cached in-process and shared between callers.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

IMAGE_SIDE = 28
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

# IDX type byte -> big-endian numpy dtype (the format's own table).
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


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
    fingerprint: str  # short sha256 over all arrays (caches, reproducibility records)

    def summary(self) -> dict[str, Any]:
        """Plain JSON-able facts about the bundle, for reports and result records."""
        return {
            "profile": self.profile,
            "description": self.description,
            "sizes": {"train": self.train.size, "test": self.test.size, "hidden": self.hidden.size},
            "fingerprint": self.fingerprint,
            "full_mnist": self.full_mnist,
        }


@dataclass(frozen=True)
class _Limits:
    train: int | None
    test: int | None
    hidden: int | None


# ---------------------------------------------------------------------------------------------
# Loading


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
    return _load_mnist_bundle(tuple(_file_key(path) for path in files), seed, limits)


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
    return _make_bundle("digits", description, False, train, test, hidden)


@functools.lru_cache(maxsize=1)
def _digits_28x28() -> tuple[np.ndarray, np.ndarray]:
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
    return _read_only(canvas), _read_only(digits.target.astype(np.int64))


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


def _file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path), stat.st_size, stat.st_mtime_ns)


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
        return _make_bundle("mnist", description, full, train, test, hidden)
    n_train = round(n * T10K_TRAIN_FRACTION)
    cuts = (n_train, n_train + round(n * T10K_TEST_FRACTION))
    splits = _split_by_order(t10k_images, t10k_labels, order, cuts)
    train, test, hidden = _limit_splits(splits, limits)
    description = (
        f"MNIST official test set (t10k) split three ways: {train.size:,} train / "
        f"{test.size:,} test / {hidden.size:,} held out"
    )
    return _make_bundle("mnist", description, False, train, test, hidden)


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
    return images, _read_only(labels.astype(np.int64))


def _read_idx_expecting(path: Path, magic: int, kind: str) -> np.ndarray:
    found, array = _read_idx_file(path)
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
        Split(_read_only(images[part]), _read_only(labels[part])) for part in np.split(order, cuts)
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


def _make_bundle(
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


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


# ---------------------------------------------------------------------------------------------
# IDX files


def read_idx(path: Path) -> np.ndarray:
    """The array in an IDX file (gzipped or not, told by its first bytes); raises DataError."""
    return _read_idx_file(Path(path))[1]


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write `array` as an unsigned-byte IDX file (MNIST's kind); gzip it when `path` ends in .gz.

    Integer arrays must hold values in 0..255: (N,) labels get magic 2049, (N,28,28) images 2051.
    """
    path = Path(path)
    data = np.asarray(array)
    if data.dtype != np.uint8:
        if data.dtype.kind not in "iub" or (data.size and (data.min() < 0 or data.max() > 255)):
            raise ValueError(f"{path.name}: write_idx writes bytes 0..255, got {data.dtype} values")
        data = data.astype(np.uint8)
    if not 1 <= data.ndim <= 255:
        raise ValueError(f"{path.name}: cannot write a {data.ndim}-dimensional array as IDX")
    payload = _idx_header(data.shape) + np.ascontiguousarray(data).tobytes()
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, compresslevel=1, mtime=0)
    _write_bytes(path, payload)
    return path


def _idx_header(shape: tuple[int, ...]) -> bytes:
    return struct.pack(f">BBBB{len(shape)}I", 0, 0, 0x08, len(shape), *shape)


@functools.lru_cache(maxsize=8)
def _read_idx_cached(path: str, size: int, mtime_ns: int) -> tuple[int, np.ndarray]:
    return _parse_idx(Path(path).name, _read_maybe_gzipped(Path(path)))


def _read_idx_file(path: Path) -> tuple[int, np.ndarray]:
    """(magic, read-only array) of an IDX file; cached while the file is unchanged."""
    try:
        return _read_idx_cached(*_file_key(path))
    except OSError as exc:
        raise DataError(f"{path.name}: cannot read ({exc.strerror or exc})") from exc


def _read_maybe_gzipped(path: Path) -> bytes:
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path.name}: corrupt or truncated gzip data ({exc})") from exc


def _parse_idx(name: str, raw: bytes) -> tuple[int, np.ndarray]:
    if len(raw) < 4:
        raise DataError(f"{name}: {len(raw)} bytes, too short for an IDX header")
    zero, type_code, ndim = struct.unpack(">HBB", raw[:4])
    magic = struct.unpack(">I", raw[:4])[0]
    if zero != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise DataError(f"{name}: magic {magic} is not an IDX header (expected e.g. 2051 or 2049)")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{name}: truncated header ({len(raw)} bytes, needs {header_size})")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header_size != expected:
        dims = "x".join(str(d) for d in shape)
        raise DataError(
            f"{name}: {len(raw) - header_size:,} data bytes, but its header ({dims}) "
            f"needs {expected:,}"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    return magic, _read_only(array)


# ---------------------------------------------------------------------------------------------
# Provisioning a notebook's working directory


def provision(bundle: DataBundle, workdir: Path, layouts: Sequence[str]) -> list[Path]:
    """Write the bundle's train and test splits (never hidden) into `workdir` in each layout.

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
    return written


def _write_npz_layout(train: Split, test: Split, workdir: Path) -> list[Path]:
    """The lab's files: X (N,784) uint8 and y (N,) int64 per split."""
    return [
        _write_npz(workdir / "mnist_train.npz", train),
        _write_npz(workdir / "mnist_test.npz", test),
    ]


def _write_npz(path: Path, split: Split) -> Path:
    temporary = _temporary_name(path)
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


def _write_bytes(path: Path, payload: bytes) -> None:
    temporary = _temporary_name(path)
    temporary.write_bytes(payload)
    os.replace(temporary, path)


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


_LAYOUT_WRITERS: dict[str, Callable[[Split, Split, Path], list[Path]]] = {
    "npz": _write_npz_layout,
    "torchvision": _write_torchvision_layout,
}
