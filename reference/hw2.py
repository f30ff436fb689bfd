"""Instructor's reference for hw2 (PCA, KNN, softmax regression, CNN), as pure functions.

Takes plain numpy data (uint8 images (N,28,28) in 0..255, int64 labels (N,) unless a docstring says
otherwise) and returns plain numpy data or Python values, for the grader to compare with a
student's artifacts. CNN weights cross the process boundary as ``list[np.ndarray]`` in
``model.parameters()`` order. Importing this module does not import torch: the CNN class is built
on first use (``cnn_class()``, or the module attribute ``CNN``), and every function that seeds
torch does so on a forked RNG, leaving the caller's global torch RNG untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

MNIST_SIDE = 28
MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE
N_DIGITS = 10
# Squared distances closer than this relative gap are one tie: absorbs a student's KD-tree
# rounding on float data while still telling apart distinct integer squared distances < 1e9.
TIE_RTOL = 1e-9


# --------------------------------------------------------------------------------------------
# 1.1 digit_images
# --------------------------------------------------------------------------------------------


def _as_pixel_image(image: np.ndarray) -> np.ndarray | None:
    """Take one image as any numeric array; return it as flat uint8 if every value is an integer
    in 0..255 (so an exact match with a uint8 training image is possible), else None."""
    values = np.asarray(image, dtype=np.float64).reshape(-1)
    exact = np.isfinite(values).all() and (values == np.round(values)).all()
    if not exact or values.min() < 0 or values.max() > 255:
        return None
    return values.astype(np.uint8)


def _row_keys(images: np.ndarray) -> np.ndarray:
    """Take uint8 images (N,...); return one opaque bytes key per image, comparable with ``==``."""
    flat = np.ascontiguousarray(images.reshape(len(images), -1), dtype=np.uint8)
    return flat.view(np.dtype((np.void, flat.shape[1]))).reshape(-1)


def _describe_match(i: int, image: np.ndarray | None, keys: np.ndarray, labels: np.ndarray) -> str:
    """Take digit image i (flat uint8 or None) and the training keys/labels; return '' when it is
    a class-i training image, else a sentence saying what it matches instead."""
    wanted = f"image {i} is not an image of class {i} from the training set"
    if image is None:
        return f"{wanted} (its values are not whole numbers in 0..255, e.g. rescaled)"
    found = sorted({int(c) for c in labels[keys == _row_keys(image[None])[0]]})
    if i in found:
        return ""
    if not found:
        return f"{wanted} (it matches no training image)"
    classes = " or ".join(str(c) for c in found)
    return f"{wanted} (it matches an image of class {classes})"


def digit_images_violations(
    digit_images: np.ndarray, train_images: np.ndarray, train_labels: np.ndarray
) -> list[str]:
    """Take a student's ``digit_images`` and the uint8 training set; return sentences for each
    image i that is not exactly (after casting to float) some training image of class i.

    ``digit_images`` must have shape (10,28,28) or (10,784). An empty list means it is correct.
    Matching compares whole rows as bytes, so 60,000 training images take well under a second.
    """
    if digit_images is None:
        return ["digit_images is not set (it is None)"]
    digits = np.asarray(digit_images)
    if digits.shape not in ((N_DIGITS, MNIST_SIDE, MNIST_SIDE), (N_DIGITS, MNIST_PIXELS)):
        return [f"digit_images has shape {digits.shape}, expected (10, 28, 28)"]
    keys = _row_keys(np.asarray(train_images))
    labels = np.asarray(train_labels).reshape(-1)
    sentences = [
        _describe_match(i, _as_pixel_image(digits[i]), keys, labels) for i in range(N_DIGITS)
    ]
    return [s for s in sentences if s]


# --------------------------------------------------------------------------------------------
# 1.2 PCA
# --------------------------------------------------------------------------------------------


def _scatter_matrix(flat: np.ndarray, mean: np.ndarray, chunk: int = 10_000) -> np.ndarray:
    """Take data (N,D) and its mean; return sum of outer products of the centred rows (D,D),
    accumulated in chunks so 60,000 MNIST rows never need a float64 copy all at once."""
    scatter = np.zeros((flat.shape[1], flat.shape[1]))
    for start in range(0, len(flat), chunk):
        centred = flat[start : start + chunk].astype(np.float64) - mean
        scatter += centred.T @ centred
    return scatter


def pca(train_images: np.ndarray) -> dict[str, np.ndarray]:
    """Take training images (N,28,28) or (N,784); return PCA of the flattened float64 data.

    Keys: "mean" (784,); "covmat_n" (divided by N) and "covmat_n1" (by N-1, as the handout);
    "eigvals" (of covmat_n1, descending, from ``np.linalg.eigh``) with "eigvecs" (784,784) whose
    columns match; "eigvals_n1" (same as "eigvals") and "eigvals_n" (of covmat_n: the same values
    scaled by (N-1)/N, the eigenvectors being shared), so either convention can be accepted.
    """
    flat = np.asarray(train_images).reshape(len(train_images), -1)
    n = len(flat)
    mean = flat.mean(axis=0, dtype=np.float64)
    scatter = _scatter_matrix(flat, mean)
    covmat_n1 = scatter / (n - 1)
    ascending, vectors = np.linalg.eigh(covmat_n1)
    eigvals = ascending[::-1].copy()
    return {
        "mean": mean,
        "covmat_n": scatter / n,
        "covmat_n1": covmat_n1,
        "eigvals": eigvals,
        "eigvecs": vectors[:, ::-1].copy(),
        "eigvals_n1": eigvals,
        "eigvals_n": eigvals * ((n - 1) / n),
    }


def centered_summary(data: np.ndarray, rows: np.ndarray) -> dict[str, Any]:
    """Take a (possibly 60000x784) array and row indices; return a small summary to compare:
    {"shape": data.shape, "rows": data[rows], "colsum": data.sum(0)}. Runs on both sides of the
    sandbox, so it stays plain numpy."""
    data = np.asarray(data)
    return {"shape": tuple(data.shape), "rows": data[rows], "colsum": data.sum(axis=0)}


def reconstruct(
    digit_images: np.ndarray, mean: np.ndarray, eigvecs: np.ndarray, k: int
) -> np.ndarray:
    """Take images (n,28,28) or (n,784), the data mean (784,), eigenvectors as columns (784,784)
    in descending-eigenvalue order and k; return the images projected on the first k components
    and back, plus the mean, as (n,28,28). Flipping any eigenvector's sign gives the same result,
    since only V_k V_k^T enters."""
    flat = np.asarray(digit_images, dtype=np.float64).reshape(len(digit_images), -1)
    basis = np.asarray(eigvecs, dtype=np.float64)[:, :k]
    codes = (flat - mean) @ basis
    return (codes @ basis.T + mean).reshape(len(flat), MNIST_SIDE, MNIST_SIDE)


# --------------------------------------------------------------------------------------------
# 2.1 KNN
# --------------------------------------------------------------------------------------------


def _approx_squared_distances(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Take train (N,D) and test (B,D) float64; return squared distances (B,N) by the expansion
    |a|^2 + |b|^2 - 2ab (exact for integer data whose sums stay below 2^53)."""
    train_norms = np.einsum("ij,ij->i", train, train)
    test_norms = np.einsum("ij,ij->i", test, test)
    return np.maximum(test_norms[:, None] + train_norms[None, :] - 2.0 * (test @ train.T), 0.0)


def _possible_modes(sure: np.ndarray, tied: np.ndarray, free: int) -> list[int]:
    """Take per-class counts of sure neighbours and of tied candidates and the number of tied
    candidates to pick; return the class indices that are a most-voted class for SOME pick.

    For class c the best pick takes as many tied c's as allowed; the other picks must then fit
    under c's count, class by class. If any pick makes c a mode, this one does (moving a pick
    from another class to c never hurts c), so the test is exact.
    """
    possible = []
    for c in range(len(sure)):
        own = min(int(tied[c]), free)
        top = sure[c] + own
        room = top - np.delete(sure, c)
        if (room < 0).any():
            continue
        if np.minimum(np.delete(tied, c), room).sum() >= free - own:
            possible.append(c)
    return possible


def _acceptable_for_row(
    d2: np.ndarray, train: np.ndarray, x: np.ndarray, classes: np.ndarray, n_classes: int, k: int
) -> set[int]:
    """Take approximate squared distances of one test point x to all training points; return the
    class indices a correct k-NN may predict for x (see ``knn_acceptable_labels``)."""
    kth = np.partition(d2, k - 1)[k - 1]
    # Far above the expansion's rounding error, so no true neighbour is left out; the
    # candidates' distances are then recomputed exactly.
    slack = 1e-9 * (kth + float(x @ x) + float(d2.max())) + 1e-9
    candidates = np.flatnonzero(d2 <= kth + slack)
    exact = ((train[candidates] - x) ** 2).sum(axis=1)
    kth = np.partition(exact, k - 1)[k - 1]
    tol = TIE_RTOL * kth
    sure_mask, tied_mask = exact < kth - tol, np.abs(exact - kth) <= tol
    sure = np.bincount(classes[candidates[sure_mask]], minlength=n_classes)
    tied = np.bincount(classes[candidates[tied_mask]], minlength=n_classes)
    return set(_possible_modes(sure, tied, k - int(sure.sum())))


def knn_acceptable_labels(
    train_X: np.ndarray, train_y: np.ndarray, test_X: np.ndarray, k: int, chunk: int = 256
) -> list[set[int]]:
    """Take training data (N,D), labels (N,), test data (M,D) and k; return, for each test
    point, the set of labels a correct k-NN classifier may output.

    Rule: distances are Euclidean. Let d_k be the k-th smallest distance. Training points closer
    than d_k are always neighbours; points at exactly d_k are tied, and any of them may fill the
    remaining places (as a KD-tree may return any of them). For each such valid choice of k
    neighbours, any label with the most votes may be output (the handout: "in case of a tie,
    pick any one"). A label is acceptable if it wins, or ties for the win, under SOME valid
    choice; this is computed exactly, without enumerating choices. Distances within a relative
    1e-9 of d_k (on squared distances) count as tied, which only matters for float data.
    """
    train = np.asarray(train_X, dtype=np.float64).reshape(len(train_X), -1)
    test = np.asarray(test_X, dtype=np.float64).reshape(len(test_X), -1)
    if not 1 <= k <= len(train):
        raise ValueError(f"k={k} must be between 1 and the number of training points {len(train)}")
    names, classes = np.unique(np.asarray(train_y).reshape(-1), return_inverse=True)
    acceptable = []
    for start in range(0, len(test), chunk):
        block = test[start : start + chunk]
        for x, d2 in zip(block, _approx_squared_distances(train, block), strict=True):
            found = _acceptable_for_row(d2, train, x, classes, len(names), k)
            acceptable.append({int(names[c]) for c in found})
    return acceptable


# Each pattern: training points at offsets of squared length 1, 2, 3, 4 (and a second 4) from a
# test point, with the role (0=a, 1=b, ...) of their class, the roles being mapped to random
# classes per copy. With k=4 each pattern makes a known kind of tie, noted with its labels.
_TIE_PATTERNS: tuple[tuple[tuple[tuple[int, ...], int], ...], ...] = (
    # 2-2 vote, no distance tie: {a, b}
    (((1, 0, 0, 0, 0), 0), ((0, 1, 1, 0, 0), 1), ((0, 0, -1, -1, -1), 0), ((0, 0, 0, 2, 0), 1)),
    # a a b + (b or c) at d_4: {a, b}
    (
        ((1, 0, 0, 0, 0), 0),
        ((0, 1, 1, 0, 0), 0),
        ((0, 0, -1, -1, -1), 1),
        ((0, 0, 0, 2, 0), 1),
        ((0, 0, 0, 0, -2), 2),
    ),
    # a b c + (a or b) at d_4: {a, b}, never c
    (
        ((1, 0, 0, 0, 0), 0),
        ((0, 1, 1, 0, 0), 1),
        ((0, 0, -1, -1, -1), 2),
        ((0, 0, 0, 2, 0), 0),
        ((0, 0, 0, 0, -2), 1),
    ),
    # a b c + (d or a) at d_4: {a, b, c, d}
    (
        ((1, 0, 0, 0, 0), 0),
        ((0, 1, 1, 0, 0), 1),
        ((0, 0, -1, -1, -1), 2),
        ((0, 0, 0, 2, 0), 3),
        ((0, 0, 0, 0, -2), 0),
    ),
    # a a b a: {a}
    (((1, 0, 0, 0, 0), 0), ((0, 1, 1, 0, 0), 0), ((0, 0, -1, -1, -1), 1), ((0, 0, 0, 2, 0), 0)),
)
_TIE_K = 4
_N_FEATURES = 5
_N_CLASSES = 4


def _signed_permutation(rng: np.random.Generator) -> np.ndarray:
    """Return a random (5,5) signed permutation matrix (keeps integer offsets' lengths)."""
    return np.eye(_N_FEATURES)[rng.permutation(_N_FEATURES)] * rng.choice([-1, 1], _N_FEATURES)


def _tie_structures(rng: np.random.Generator) -> tuple[list, list, list]:
    """Return (train points, train labels, test points) of two copies of each tie pattern, each
    copy around its own test point, 30 apart along axis 0 (farther than any offset)."""
    train, labels, test = [], [], []
    for j, pattern in enumerate(_TIE_PATTERNS * 2):
        centre = np.array([30.0 * (j + 1), *rng.integers(-3, 4, _N_FEATURES - 1)])
        turn, roles = _signed_permutation(rng), rng.permutation(_N_CLASSES)
        test.append(centre)
        for offset, role in pattern:
            train.append(centre + turn @ np.array(offset, dtype=np.float64))
            labels.append(int(roles[role]))
    return train, labels, test


_BG_CENTRES = [np.array([-30.0, 10.0 * c, 0, 0, 0]) for c in range(_N_CLASSES)]


def _background_clusters(
    rng: np.random.Generator, n_train: int, n_test: int
) -> tuple[list, list, list]:
    """Return (train points, train labels, test points) scattered around one integer centre per
    class, all at negative axis-0 coordinates, away from the tie structures."""
    centres = np.array(_BG_CENTRES)
    train_labels = [c % _N_CLASSES for c in range(n_train)]
    train = [centres[c] + rng.integers(-2, 3, _N_FEATURES) for c in train_labels]
    test = [
        centres[rng.integers(_N_CLASSES)] + rng.integers(-2, 3, _N_FEATURES) for _ in range(n_test)
    ]
    return train, train_labels, test


EMBED_BASE, EMBED_MARK = 8.0, 60.0  # pixel values of embedded points, all within [0, 255]


def _embed(points: list, centres: list) -> np.ndarray:
    """Take 5-d points and the centre of each one's group; return them as 784-pixel images: the
    offset from the centre in pixels 0-4 (plus 8), a mark of 60 in pixel 5 + the group's index.
    Distances within a group are kept exactly; points of different groups are over 80 apart."""
    groups = {tuple(c): i for i, c in enumerate(dict.fromkeys(tuple(c) for c in centres))}
    images = np.zeros((len(points), MNIST_PIXELS))
    for row, (point, centre) in enumerate(zip(points, centres, strict=True)):
        images[row, :_N_FEATURES] = EMBED_BASE + np.asarray(point) - np.asarray(centre)
        images[row, _N_FEATURES + groups[tuple(centre)]] = EMBED_MARK
    return images


def knn_tie_dataset(seed: int = 0) -> dict[str, Any]:
    """Take a seed; return a small k-NN problem with deliberate ties, for checking a student's
    classifier against ``knn_acceptable_labels``, as the assignment's data look: uint8 images of
    784 pixels in 0..255.

    Returns {"train_X": uint8 (60,784), "train_y": int64 (60,), "test_X": uint8 (20,784),
    "k": 4}. Within each group the coordinates are whole numbers so distances tie exactly; 10
    test points sit on hand-made structures (2-2 votes, ties at the 4th distance), 10 near class
    clusters (``_embed`` keeps the groups apart).
    """
    rng = np.random.default_rng(seed)
    tie_train, tie_labels, tie_test = _tie_structures(rng)
    n_train = 60 - len(tie_train)
    bg_train, bg_labels, bg_test = _background_clusters(rng, n_train, 20 - len(tie_test))
    train_order = rng.permutation(60)
    test_order = rng.permutation(20)
    train, test = tie_train + bg_train, tie_test + bg_test
    train_centres = [_tie_centre(p, tie_test) for p in tie_train] + [
        _BG_CENTRES[c] for c in bg_labels]
    test_centres = list(tie_test) + [_nearest_centre(p) for p in bg_test]
    return {
        "train_X": _embed(train, train_centres).astype(np.uint8)[train_order],
        "train_y": np.array(tie_labels + bg_labels, dtype=np.int64)[train_order],
        "test_X": _embed(test, test_centres).astype(np.uint8)[test_order],
        "k": _TIE_K,
    }


def _tie_centre(point: np.ndarray, centres: list) -> np.ndarray:
    """The tie structure (test point) a training point of ``_tie_structures`` was placed around."""
    return min(centres, key=lambda c: float(np.abs(np.asarray(point) - c).sum()))


def _nearest_centre(point: np.ndarray) -> np.ndarray:
    return min(_BG_CENTRES, key=lambda c: float(np.abs(np.asarray(point) - c).sum()))


# --------------------------------------------------------------------------------------------
# 2.2 softmax regression
# --------------------------------------------------------------------------------------------


def softmax(x: np.ndarray) -> np.ndarray:
    """Take scores (..., C); return softmax along the last axis, shifted by the max so large
    scores do not overflow. Does not modify ``x``."""
    shifted = np.asarray(x, dtype=np.float64) - np.max(x, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(u: np.ndarray) -> np.ndarray:
    """Take scores (C,); return log(softmax(u)) without taking the log of an underflowed 0."""
    shifted = u - np.max(u)
    return shifted - np.log(np.exp(shifted).sum())


def J(W: np.ndarray, b: np.ndarray, y_true: np.ndarray, x: np.ndarray) -> float:
    """Take W (C,m), b (C,), one-hot y_true (C,) and x (m,); return the cross-entropy
    -sum(y_true * log(softmax(W x + b)))."""
    return float(-np.sum(y_true * _log_softmax(W @ x + b)))


def dJ(
    W: np.ndarray, b: np.ndarray, y_true: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Take the arguments of ``J``; return (dW (C,m), db (C,)): db = softmax(Wx+b) sum(y') - y'
    (= y - y' for one-hot y'), dW = db x^T."""
    s = softmax(W @ x + b)
    db = s * np.sum(y_true) - y_true
    return np.outer(db, x), db


def numerical_grad(
    W: np.ndarray, b: np.ndarray, y_true: np.ndarray, x: np.ndarray, eps: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Take the arguments of ``J`` and a step; return (dW, db) by central differences of J.
    Costs 2 (C m + C) evaluations of J; the inputs are not modified."""
    W = np.array(W, dtype=np.float64)
    b = np.array(b, dtype=np.float64)

    def diff(array: np.ndarray) -> np.ndarray:
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + eps
            plus = J(W, b, y_true, x)
            array[index] = saved - eps
            minus = J(W, b, y_true, x)
            array[index] = saved
            grad[index] = (plus - minus) / (2 * eps)
        return grad

    return diff(W), diff(b)


def sgd(
    Xs: np.ndarray,
    ys_onehot: np.ndarray,
    n_classes: int = 10,
    lr: float = 1e-3,
    max_epoch: int = 20,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Take data (N,m), one-hot labels (N,C) and the handout's settings; return (W, b) after the
    handout's SGD: W = rand(C,m) - 0.5, b = rand(C) - 0.5, then per-sample updates in order.

    With a seed the initial values equal ``np.random.seed(seed)`` followed by ``np.random.rand``
    (a private RandomState, so numpy's global RNG is left alone); without one numpy's global RNG
    is used, as in the handout.
    """
    m = Xs.shape[1]
    rand: Callable[..., np.ndarray] = (
        np.random.rand if seed is None else np.random.RandomState(seed).rand
    )
    W = rand(n_classes, m) - 0.5
    b = rand(n_classes) - 0.5
    for _ in range(max_epoch):
        for x, y in zip(Xs, ys_onehot, strict=True):
            dW, db = dJ(W, b, y, x)
            W -= lr * dW
            b -= lr * db
    return W, b


def softmax_accuracy(
    W: np.ndarray, b: np.ndarray, images_uint8: np.ndarray, labels: np.ndarray
) -> float:
    """Take softmax-regression weights and uint8 images (N,28,28) with labels; return the
    accuracy of argmax(X W^T + b) on X = images/255 flattened."""
    X = np.asarray(images_uint8).reshape(len(images_uint8), -1) / 255.0
    predicted = np.argmax(X @ np.asarray(W).T + b, axis=1)
    return float(np.mean(predicted == np.asarray(labels).reshape(-1)))


# --------------------------------------------------------------------------------------------
# 3.1 CNN
# --------------------------------------------------------------------------------------------

HIDDEN = 1024


def _after_conv_pool(side: int) -> int:
    """Take a spatial side; return it after two (5x5 conv without padding, 2x2 max pool) blocks."""
    return ((side - 4) // 2 - 4) // 2


@cache
def cnn_class() -> type[torch.nn.Module]:
    """Return the hw2 3.1 CNN class (built on first call so importing this module skips torch).

    (conv 5x5, 32) -> relu -> (maxpool 2x2) -> (conv 5x5, 64) -> relu -> (maxpool 2x2) -> flatten
    -> (linear 1024) -> (output 10). Convolutions have no padding, as in the handout's answer, so
    the flattened size is 64*4*4 = 1024. We read "(linear 1024)" as a hidden layer of 1024 units
    followed by a ReLU and the 10-way output, the structure of the TensorFlow "deep MNIST" model
    this spec follows and of the handout's own MLP sample; a hidden linear layer without a
    non-linearity would only factorise one linear map. The handout's answer instead goes straight
    1024 -> 10; ``CNN(..., hidden=None)`` builds that variant.
    """
    from torch import nn

    class CNN(nn.Module):
        """hw2's CNN; input (N,1,28,28) float in 0..1, output (N,num_classes) logits."""

        def __init__(
            self,
            input_size: tuple[int, int, int] = (1, MNIST_SIDE, MNIST_SIDE),
            num_classes: int = N_DIGITS,
            hidden: int | None = HIDDEN,
        ) -> None:
            super().__init__()
            channels, height, width = input_size
            self.features = nn.Sequential(
                nn.Conv2d(channels, 32, 5),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 5),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
            )
            flat = 64 * _after_conv_pool(height) * _after_conv_pool(width)
            head = [nn.Linear(flat, num_classes)]
            if hidden is not None:
                head = [nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)]
            self.classifier = nn.Sequential(*head)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.classifier(self.features(x))

    return CNN


def __getattr__(name: str) -> Any:
    """Provide ``CNN`` as a module attribute, built (and torch imported) only when first asked."""
    if name == "CNN":
        return cnn_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@contextmanager
def _seeded_torch(seed: int) -> Iterator[None]:
    """Run the block with torch's CPU RNG seeded to ``seed``, restoring the caller's state after."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _unit_images(images: np.ndarray) -> np.ndarray:
    """Take uint8 images (N,28,28) or (N,784); return float32 (N,1,28,28) = images/255."""
    array = np.asarray(images)
    return (array.reshape(len(array), 1, MNIST_SIDE, MNIST_SIDE) / 255).astype(np.float32)


def train_cnn(
    images_uint8: np.ndarray,
    labels: np.ndarray,
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    hidden: int | None = HIDDEN,
) -> list[np.ndarray]:
    """Take uint8 images (N,28,28) and labels (N,); return the CNN's weights (``parameters()``
    order, float32) after training as the handout: Adam(lr), CrossEntropyLoss, a shuffled
    DataLoader of ``batch_size`` (shuffled by a generator seeded with ``seed``), inputs /255.
    The initial weights come from ``torch.manual_seed(seed)``."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    dataset = TensorDataset(
        torch.from_numpy(_unit_images(images_uint8)),
        torch.from_numpy(np.asarray(labels).astype(np.int64).reshape(-1)),
    )
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    with _seeded_torch(seed):
        model = cnn_class()((1, MNIST_SIDE, MNIST_SIDE), N_DIGITS, hidden=hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr)
    criterion = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        for data, targets in loader:
            loss = criterion(model(data), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return [p.detach().numpy().astype(np.float32, copy=True) for p in model.parameters()]


def predict_cnn(
    params: list[np.ndarray], images_uint8: np.ndarray, chunk: int = 1000
) -> np.ndarray:
    """Take CNN weights from ``train_cnn`` (8 arrays, or 6 for the ``hidden=None`` variant) and
    uint8 images (N,28,28); return predicted labels int64 (N,)."""
    import torch

    hidden = int(np.shape(params[4])[0]) if len(params) == 8 else None
    with _seeded_torch(0):  # the initial weights are overwritten; this keeps the caller's RNG
        model = cnn_class()((1, MNIST_SIDE, MNIST_SIDE), N_DIGITS, hidden=hidden)
    targets = list(model.parameters())
    if len(params) != len(targets):
        raise ValueError(f"expected 8 (or 6) CNN parameter arrays, got {len(params)}")
    with torch.no_grad():
        for i, (target, value) in enumerate(zip(targets, params, strict=True)):
            array = np.asarray(value, dtype=np.float32)
            if tuple(array.shape) != tuple(target.shape):
                raise ValueError(
                    f"parameter {i} has shape {array.shape}, expected {tuple(target.shape)}"
                )
            target.copy_(torch.from_numpy(array))
        model.eval()
        inputs = _unit_images(images_uint8)
        predicted = [
            model(torch.from_numpy(inputs[s : s + chunk])).argmax(dim=1).numpy()
            for s in range(0, len(inputs), chunk)
        ]
    return np.concatenate(predicted).astype(np.int64)


# --------------------------------------------------------------------------------------------
# grading interface: inputs the grader chooses and expectations it derives (rubrics/hw2.yaml)
# --------------------------------------------------------------------------------------------


def digit_images_rule(digit_images: np.ndarray, data: Any) -> list[str]:
    """1.1: image i of digit_images is an image of class i from the provisioned training set."""
    return digit_images_violations(digit_images, data.train.images, data.train.labels)


@lru_cache(maxsize=2)  # a bundle is hashed by identity; 1.2.x ask for it six times
def train_pca(data: Any) -> dict[str, np.ndarray]:
    """PCA of the training split the notebook sees (``MNIST('.', download=True)``)."""
    return pca(data.train.images)


def centered_data(data: Any) -> np.ndarray:
    """1.2.1: the flattened training data minus its mean, float64 (N, 784)."""
    flat = data.train.images.reshape(len(data.train.images), -1).astype(np.float64)
    return flat - train_pca(data)["mean"]


def reconstructions(ks: list[int], digit_images: np.ndarray, data: Any) -> dict[str, np.ndarray]:
    """1.2.5/1.2.6: the student's own 10 digits rebuilt from k components, for every allowed k."""
    p = train_pca(data)
    return {f"k = {k}": reconstruct(digit_images, p["mean"], p["eigvecs"], k) for k in ks}


def reconstructions_between(lo: int, hi: int, digit_images: np.ndarray,
                            data: Any) -> dict[str, np.ndarray]:
    """1.2.6: reconstructions for every k in lo..hi (the handout accepts any k it suggests)."""
    return reconstructions(list(range(lo, hi + 1)), digit_images, data)


def knn_vote_dataset(k: int = 4, seed: int = 1) -> dict[str, Any]:
    """2.1: points whose nearest neighbour is outvoted by the next k-1 (a classifier that ignores
    num_neighbors, 1-NN, gets them wrong), and points whose k nearest elect one class while the
    k-1 or k+1 nearest tie (an off-by-one in k picks the smallest tied label, a wrong one). Far-
    apart groups, distinct distances, as float64 images of 784 pixels in [0, 255] (``_embed``)."""
    rng = np.random.default_rng(seed)
    train, labels, test, train_centres = [], [], [], []
    for g in range(6):
        centre = np.zeros(5)
        centre[g % 5] = 100.0 * (g + 1)
        near, far = rng.choice(4, size=2, replace=False)
        direction = np.eye(5)[(g + 1) % 5]
        test.append(centre)
        train.append(centre + 1.0 * direction)
        labels.append(int(near))
        for j in range(k - 1):
            train.append(centre - (2.0 + 0.5 * j) * direction)
            labels.append(int(far))
        train_centres += [centre] * k
    for g in range(6, 9):  # only k decides: k-1 neighbours tie three ways, k+1 tie two ways
        centre = np.zeros(5)
        centre[g % 5] = 100.0 * (g + 1)
        low, mid, high = sorted(int(c) for c in rng.choice(4, size=3, replace=False))
        direction = np.eye(5)[(g + 1) % 5]
        test.append(centre)
        for distance, label in zip((1.0, 1.5, 2.0, 2.5, 3.0), (mid, low, high, high, mid)):
            train.append(centre + distance * direction)
            labels.append(label)
        train_centres += [centre] * 5
    return {"train_X": _embed(train, train_centres), "train_y": np.array(labels, dtype=np.int64),
            "test_X": _embed(test, test), "k": k}


def knn_training_data(data: Any) -> dict[str, np.ndarray]:
    """2.1 on the assignment's own data: the provisioned training images exactly as the handout
    loads them (``train_dataset.data.numpy()`` reshaped to (N, 784): uint8) and their labels."""
    images = np.asarray(data.train.images)
    return {"train_X": images.reshape(len(images), -1), "train_y": np.asarray(data.train.labels)}


def knn_predict(train_X: np.ndarray, train_y: np.ndarray, test_X: np.ndarray, k: int,
                chunk: int = 256) -> np.ndarray:
    """Take training data (N,D), labels, test data (M,D) and k; return k-NN predictions (M,) on
    float64 Euclidean distances (a tie of votes goes to the smallest label)."""
    train = np.asarray(train_X, dtype=np.float64).reshape(len(train_X), -1)
    test = np.asarray(test_X, dtype=np.float64).reshape(len(test_X), -1)
    labels = np.asarray(train_y).reshape(-1)
    predicted = []
    for start in range(0, len(test), chunk):
        d2 = _approx_squared_distances(train, test[start : start + chunk])
        nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]
        predicted += [int(np.bincount(labels[row]).argmax()) for row in nearest]
    return np.array(predicted, dtype=np.int64)


def calibration_knn_accuracy(limit: int, data: Any) -> float:
    """Accuracy of the reference 3-NN, fitted on the provisioned training images, on the first
    ``limit`` held-out images (deterministic: one run)."""
    train = knn_training_data(data)
    images = np.asarray(data.hidden.images)[:limit]
    predicted = knn_predict(train["train_X"], train["train_y"], images.reshape(len(images), -1), 3)
    return float(np.mean(predicted == np.asarray(data.hidden.labels)[:limit]))


def softmax_inputs() -> dict[str, np.ndarray]:
    """2.2.2: scores as softmax gets them in the assignment (W x + b: 10 classes): one large
    vector (overflows a naive softmax) and one ordinary."""
    rng = np.random.default_rng(4)
    return {"big": 1000.0 + rng.normal(size=N_DIGITS), "small": rng.normal(size=N_DIGITS)}


def loss_inputs(data: Any, seed: int = 5) -> dict[str, np.ndarray]:
    """2.2.2: one point of the assignment's softmax regression: W (10, 784), b (10,) small random
    weights, x a real training image as the handout gives it (pixels / 255, float64) and y its
    one-hot label."""
    rng = np.random.default_rng(seed)
    image = np.asarray(data.train.images[0], dtype=np.float64).reshape(-1) / 255.0
    return {"W": rng.normal(scale=0.01, size=(N_DIGITS, MNIST_PIXELS)),
            "b": rng.normal(scale=0.01, size=N_DIGITS), "x": image,
            "y": np.eye(N_DIGITS)[int(data.train.labels[0])]}


SGD_ROWS = 600


def sgd_data(rows: int = SGD_ROWS, data: Any = None) -> dict[str, np.ndarray]:
    """2.2.2: a problem of the assignment's kind for running the student's SGD: the first ``rows``
    provisioned training images as the handout prepares them (flattened, / 255., float64) with
    one-hot float64 labels; a training split smaller than ``rows`` is cycled."""
    order = np.arange(rows) % len(data.train.images)
    images = np.asarray(data.train.images)[order]
    return {"Xs": images.reshape(rows, -1) / 255.0,
            "ys": np.eye(N_DIGITS)[np.asarray(data.train.labels)[order]]}


def sgd_train_accuracy(result: Any, Xs: np.ndarray, ys: np.ndarray) -> float:
    """Training accuracy of the (W, b) the student's SGD returned on ``sgd_problem``."""
    W, b = (np.asarray(v, dtype=np.float64) for v in result[:2])
    return float(np.mean(np.argmax(Xs @ W.T + b, axis=1) == np.argmax(ys, axis=1)))


def softmax_predict(W: np.ndarray, b: np.ndarray, images_uint8: np.ndarray) -> np.ndarray:
    """Labels softmax regression predicts for uint8 images (the notebook trains on pixels/255)."""
    X = np.asarray(images_uint8).reshape(len(images_uint8), -1) / 255.0
    return np.argmax(X @ np.asarray(W, dtype=np.float64).T + np.asarray(b).reshape(-1), axis=1)


def calibration_softmax_accuracy(data: Any, seed: int = 0) -> float:
    """Held-out accuracy of the handout's SGD (20 epochs, lr 1e-3, initial weights from ``seed``)
    on ``data``."""
    X = data.train.images.reshape(len(data.train.images), -1) / 255.0
    W, b = sgd(X, np.eye(N_DIGITS)[data.train.labels], seed=seed)
    return softmax_accuracy(W, b, data.hidden.images, data.hidden.labels)


def image_batch(n: int = 6, seed: int = 2) -> np.ndarray:
    """3.1: a batch of (n, 1, 28, 28) float32 images in [0, 1]."""
    return np.random.default_rng(seed).random((n, 1, MNIST_SIDE, MNIST_SIDE), dtype=np.float32)


def calibration_cnn_accuracy(data: Any, seed: int = 0) -> float:
    """Held-out accuracy of the reference CNN trained as the handout suggests on ``data`` (initial
    weights and shuffling from ``seed``)."""
    params = train_cnn(data.train.images, data.train.labels, seed=seed)
    return float(np.mean(predict_cnn(params, data.hidden.images) == data.hidden.labels))


# What the grader's inputs sample: the assignment's own data and the handout's docstrings
# (grader/checks/domains.py). Pixels are uint8 0..255 as loaded, or float64 in [0, 1] after / 255.
_PIXELS = {"dtype": ["uint8", "float64"], "shape": [[1, None], MNIST_PIXELS], "min": 0, "max": 255,
           "about": "train_X / test_X as the handout loads them: (N, 784) pixels"}
_KNN = {"train_X": _PIXELS, "test_X": _PIXELS, "train_y": {"dtype": "int64", "shape": [[1, None]]},
        "k": {"shape": []}}
_SCORES = {"dtype": "float64", "shape": [N_DIGITS],
           "about": "softmax gets W x + b: 10 class scores"}
DOMAINS = {
    "knn_tie_dataset": _KNN,
    "knn_vote_dataset": _KNN,
    "knn_training_data": _KNN,
    "softmax_inputs": {"big": _SCORES, "small": _SCORES},
    "loss_inputs": {
        "W": {"dtype": "float64", "shape": [N_DIGITS, MNIST_PIXELS]},
        "b": {"dtype": "float64", "shape": [N_DIGITS]},
        "x": {"dtype": "float64", "shape": [MNIST_PIXELS], "min": 0, "max": 1,
              "about": "one image of train_X / 255."},
        "y": {"dtype": "float64", "shape": [N_DIGITS], "min": 0, "max": 1},
    },
    "sgd_data": {
        # the handout's SGD runs on 60,000 rows: a student may monitor the loss on a sample of
        # several hundred, so the grader's problems have at least 600
        "Xs": {"dtype": "float64", "shape": [[SGD_ROWS, None], MNIST_PIXELS], "min": 0, "max": 1,
               "about": "train_X / 255.: (N, 784) float64, N = 60,000 in the handout"},
        "ys": {"dtype": "float64", "shape": [[SGD_ROWS, None], N_DIGITS], "min": 0, "max": 1},
    },
    "image_batch": {"batch": {"dtype": "float32", "shape": [[1, None], 1, MNIST_SIDE, MNIST_SIDE],
                              "min": 0, "max": 1, "about": "MNIST images as ToTensor gives them"}},
}
