"""Instructor's reference for Lab 9 (Convolutional Neural Networks), as pure functions.

Takes plain numpy data (and, for 2.1, an ``.npz`` path) and returns plain numpy data, so the grader
can compare a student's artifacts with these values without sharing any notebook state. Weights
cross the process boundary as ``list[np.ndarray]`` in ``model.parameters()`` order (see
``parameters_of``). torch is imported inside the functions that need it, so importing this module
stays cheap; every function that seeds torch does so on a forked RNG and leaves the caller's
global torch RNG untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from os import PathLike
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

SYNTHETIC_N = 75
SYNTHETIC_WIDTH = 20
SYNTHETIC_VALUES = (-1.0, -0.5, 0.5, 1.0)
MAX_SENTENCES = 5
MNIST_SIDE = 28


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------


@contextmanager
def _seeded_torch(seed: int) -> Iterator[None]:
    """Run the block with torch's CPU RNG seeded to ``seed``, restoring the caller's state after."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def parameters_of(model: torch.nn.Module) -> list[np.ndarray]:
    """Take a torch model; return copies of its parameters as float32 arrays, in
    ``model.parameters()`` order (the grader's weight-exchange format)."""
    return [p.detach().cpu().numpy().astype(np.float32, copy=True) for p in model.parameters()]


def _load_parameters(model: torch.nn.Module, params: list[np.ndarray]) -> torch.nn.Module:
    """Copy ``params`` (``parameters_of`` order) into ``model`` in place; return the model.

    Raises ValueError naming the first parameter whose count or shape does not match.
    """
    import torch

    targets = list(model.parameters())
    if len(params) != len(targets):
        raise ValueError(f"expected {len(targets)} parameter arrays, got {len(params)}")
    with torch.no_grad():
        for i, (target, value) in enumerate(zip(targets, params, strict=True)):
            array = np.asarray(value, dtype=np.float32)
            if tuple(array.shape) != tuple(target.shape):
                raise ValueError(
                    f"parameter {i} has shape {tuple(array.shape)}, expected {tuple(target.shape)}"
                )
            target.copy_(torch.from_numpy(array))
    return model


def _unit_images(images: np.ndarray) -> np.ndarray:
    """Take uint8 images (N,28,28), (N,784) or (N,1,28,28) in 0..255; return float32
    (N,1,28,28) in 0..1 (divided by 255, as the handouts do)."""
    array = np.asarray(images)
    n = array.shape[0]
    return (array.reshape(n, 1, MNIST_SIDE, MNIST_SIDE) / 255).astype(np.float32)


def _forward_in_chunks(model: torch.nn.Module, inputs: np.ndarray, chunk: int = 1000) -> np.ndarray:
    """Run ``model`` in eval mode, without gradients, on float32 ``inputs``; return its float32
    outputs."""
    import torch

    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(inputs), chunk):
            batch = torch.from_numpy(np.ascontiguousarray(inputs[start : start + chunk]))
            outputs.append(model(batch).numpy())
    return np.concatenate(outputs).astype(np.float32, copy=False)


# --------------------------------------------------------------------------------------------
# 1.1 synthetic data
# --------------------------------------------------------------------------------------------


def synthetic_data(
    seed: int = 0, n: int = SYNTHETIC_N, width: int = SYNTHETIC_WIDTH
) -> tuple[np.ndarray, np.ndarray]:
    """Take the handout's seed, row count and width; return ``(X, y)`` of exercise 1.1.

    X is float32 (n,1,width) and y float32 (n,1). Draws the handout's sequence of
    ``np.random.seed(seed)``, ``randint``, ``randint``, ``choice`` from a private RandomState
    (the same stream, leaving numpy's global RNG alone). All values are exact in float32, so
    numpy zeros give the same bits as the handout's ``torch.zeros`` tensors.
    """
    rng = np.random.RandomState(seed)
    X = np.zeros((n, 1, width), dtype=np.float32)
    y = np.zeros((n, 1), dtype=np.float32)
    for i in range(n):
        size = rng.randint(1, 3)
        start = rng.randint(0, width - size)
        value = rng.choice([-1, -0.5, 0.5, 1])
        X[i, 0, start : start + size] = value
        if size == 1 and value == 1:
            y[i] = 1
    return X, y


def _row_problem(i: int, row: np.ndarray) -> str | None:
    """Take row i (W,); return a sentence if it is not one stretch of 1-2 equal allowed values."""
    nonzero = np.flatnonzero(row)
    values = row[nonzero]
    if not np.all(np.isfinite(row)):
        return f"row {i} has non-finite values"
    if nonzero.size == 0:
        return f"row {i} is all zeros (expected one stretch of 1 or 2 equal non-zero values)"
    if nonzero.size > 2:
        return f"row {i} has {nonzero.size} non-zero values (expected 1 or 2)"
    if nonzero.size == 2 and nonzero[1] != nonzero[0] + 1:
        return f"row {i} has two non-zero values that are not next to each other"
    if values.size == 2 and values[0] != values[1]:
        return f"row {i} has a stretch of two different values {values[0]:g}, {values[1]:g}"
    if float(values[0]) not in SYNTHETIC_VALUES:
        return f"row {i} has value {values[0]:g}, not one of -1, -0.5, 0.5, 1"
    return None


def _label_problem(i: int, row: np.ndarray, label: float) -> str | None:
    """Take valid row i and its target; return a sentence if the target is wrong."""
    single_plus_one = np.count_nonzero(row) == 1 and float(row.max()) == 1.0
    if label not in (0.0, 1.0):
        return f"row {i}: y is {label:g}, expected 0 or 1"
    if single_plus_one and label != 1.0:
        return f"row {i}: y is 0 but the row has a single +1 pixel"
    if not single_plus_one and label != 0.0:
        return f"row {i}: y is 1 but the row does not have a single +1 pixel"
    return None


def synthetic_rule_violations(X: np.ndarray, y: np.ndarray) -> list[str]:
    """Take a student's ``X``, ``y`` of 1.1; return sentences naming each broken rule.

    Rules: X has shape (75,1,20) and y (75,1); each row holds exactly one stretch of 1 or 2 equal
    values from {-1,-0.5,0.5,1} and zeros elsewhere; y[i] is 1 exactly when row i has a single +1
    pixel. An empty list means the data follow the spec (it does not check the seed). At most
    ``MAX_SENTENCES`` sentences are returned; the last one counts the rest when there are more.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    expected_x, expected_y = (SYNTHETIC_N, 1, SYNTHETIC_WIDTH), (SYNTHETIC_N, 1)
    problems = []
    if X.shape != expected_x:
        problems.append(f"X has shape {X.shape}, expected {expected_x}")
    if y.shape != expected_y:
        problems.append(f"y has shape {y.shape}, expected {expected_y}")
    if problems:
        return problems
    for i in range(SYNTHETIC_N):
        row = X[i, 0]
        problem = _row_problem(i, row) or _label_problem(i, row, float(y[i, 0]))
        if problem is not None:
            problems.append(problem)
    if len(problems) > MAX_SENTENCES:
        extra = len(problems) - (MAX_SENTENCES - 1)
        problems = problems[: MAX_SENTENCES - 1] + [f"and {extra} more rows break the rules"]
    return problems


# --------------------------------------------------------------------------------------------
# 1.2-1.3 the 1D ConvNet
# --------------------------------------------------------------------------------------------


def conv1d_model(
    num_filter: int, filter_size: int = 5, width: int = SYNTHETIC_WIDTH, seed: int = 0
) -> torch.nn.Sequential:
    """Take the 1.2 hyper-parameters; return the handout's model initialised after
    ``torch.manual_seed(seed)``: Conv1d(1,k,f,padding=f//2), ReLU, MaxPool1d(width), Flatten,
    Linear(k,1)."""
    from torch import nn

    with _seeded_torch(seed):
        return nn.Sequential(
            nn.Conv1d(1, num_filter, filter_size, padding=filter_size // 2),
            nn.ReLU(),
            nn.MaxPool1d(width),
            nn.Flatten(),
            nn.Linear(num_filter, 1),
        )


def forward_conv1d(params: list[np.ndarray], X: np.ndarray) -> np.ndarray:
    """Take 1.2 weights (``parameters_of`` order) and inputs X (N,1,W); return the raw
    activations (N,1) of the reference architecture with those weights."""
    weight = np.asarray(params[0])
    num_filter, _, filter_size = weight.shape
    inputs = np.asarray(X, dtype=np.float32)
    model = conv1d_model(num_filter, filter_size, width=inputs.shape[2])
    return _forward_in_chunks(_load_parameters(model, params), inputs)


def untrained_outputs(num_filter: int) -> np.ndarray:
    """Take a filter count; return sigmoid(model(X))[:5], shape (5,1), for the seed-0 model on
    ``synthetic_data()`` (0.611, 0.575, 0.604, 0.576, 0.597 for 3 filters)."""
    import torch

    model = conv1d_model(num_filter)
    X, _ = synthetic_data()
    with torch.no_grad():
        return torch.sigmoid(model(torch.from_numpy(X)))[:5].numpy()


def train_conv1d(num_filter: int, epochs: int = 500) -> dict:
    """Take a filter count; return the result of the handout's 1.3 training loop.

    Full-batch BCEWithLogitsLoss with SGD(lr=0.05, momentum=0.9, weight_decay=0.001) from
    ``conv1d_model(num_filter)`` on ``synthetic_data()``. Returns a dict with
    "trace": [(epoch, loss)] for epoch 1 and every 50th (the loss of the forward pass *before*
    that epoch's step, which is what the handout prints), "params" and "untrained_params"
    (``parameters_of`` order) and "final_loss" (the loss of the trained model, after the last step).
    """
    import torch

    X_np, y_np = synthetic_data()
    X, y = torch.from_numpy(X_np), torch.from_numpy(y_np)
    model = conv1d_model(num_filter)
    untrained = parameters_of(model)
    criterion = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=0.001)
    trace = []
    for epoch in range(1, epochs + 1):
        loss = criterion(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if epoch == 1 or epoch % 50 == 0:
            trace.append((epoch, float(loss.item())))
    with torch.no_grad():
        final_loss = float(criterion(model(X), y).item())
    return {
        "trace": trace,
        "params": parameters_of(model),
        "final_loss": final_loss,
        "untrained_params": untrained,
    }


def bce_with_logits(logits: np.ndarray, y: np.ndarray) -> float:
    """Take activations and 0/1 targets of the same shape; return the mean binary cross-entropy
    of sigmoid(logits), computed stably as max(a,0) - a*y + log(1 + exp(-|a|))."""
    a = np.asarray(logits, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    return float(np.mean(np.maximum(a, 0.0) - a * t + np.log1p(np.exp(-np.abs(a)))))


# --------------------------------------------------------------------------------------------
# 2.1-2.2 MNIST
# --------------------------------------------------------------------------------------------


def load_mnist_for_convnet(filename: str | PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Take an ``.npz`` path with keys X ((N,784) or (N,28,28), uint8 0..255) and y (N,);
    return X float32 (N,1,28,28) scaled by 1/255 (not by the data's max) and y int64 (N,)."""
    with np.load(filename, allow_pickle=False) as data:
        missing = {"X", "y"} - set(data.files)
        if missing:
            raise ValueError(f"{filename}: missing key(s) {sorted(missing)}; has {data.files}")
        images, labels = data["X"], data["y"]
    if images.size != len(images) * MNIST_SIDE * MNIST_SIDE:
        raise ValueError(f"{filename}: X has shape {images.shape}, not N images of 28x28")
    return _unit_images(images), np.asarray(labels).astype(np.int64).reshape(-1)


def mnist_convnet(seed: int = 0) -> torch.nn.Sequential:
    """Take a seed; return 2.2's model initialised after ``torch.manual_seed(seed)``:
    Conv2d(1,8,5,padding=2), ReLU, MaxPool2d(2,2), Flatten, Linear(1568,10)."""
    from torch import nn

    with _seeded_torch(seed):
        return nn.Sequential(
            nn.Conv2d(1, 8, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.Linear(8 * 14 * 14, 10),
        )


def forward_mnist_convnet(params: list[np.ndarray], images: np.ndarray) -> np.ndarray:
    """Take 2.2 weights (``parameters_of`` order) and float32 images (N,1,28,28) in 0..1;
    return logits (N,10)."""
    model = _load_parameters(mnist_convnet(), params)
    inputs = np.asarray(images, dtype=np.float32).reshape(-1, 1, MNIST_SIDE, MNIST_SIDE)
    return _forward_in_chunks(model, inputs)


def train_mnist_convnet(
    images: np.ndarray,
    labels: np.ndarray,
    epochs: int = 5,
    batch_size: int = 100,
    seed: int = 0,
) -> list[np.ndarray]:
    """Take uint8 images (N,28,28) and labels (N,); return the weights after the handout's 2.2
    loop: CrossEntropyLoss, SGD(lr=0.05, momentum=0.9, weight_decay=0.001), mini-batches taken
    in order without shuffling, starting from ``mnist_convnet(seed)``."""
    import torch

    X = torch.from_numpy(_unit_images(images))
    y = torch.from_numpy(np.asarray(labels).astype(np.int64))
    model = mnist_convnet(seed)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=0.001)
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            loss = criterion(model(X[start : start + batch_size]), y[start : start + batch_size])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return parameters_of(model)


def predict_mnist_convnet(params: list[np.ndarray], images_uint8: np.ndarray) -> np.ndarray:
    """Take 2.2 weights and uint8 images (N,28,28); return predicted labels int64 (N,)."""
    logits = forward_mnist_convnet(params, _unit_images(images_uint8))
    return logits.argmax(axis=1).astype(np.int64)


# ---- grading interface: inputs the grader chooses and expectations it derives (rubrics/lab9.yaml) ----


def behaviour_inputs_1d(n: int = 16, seed: int = 7) -> np.ndarray:
    """Grader-chosen inputs for 1.2's behaviour check: (n, 1, 20) values from {-1, -.5, 0, .5, 1}."""
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], size=(n, 1, 20)).astype(np.float32)


def synthetic_head(n: int = 5) -> np.ndarray:
    """The first n rows of the seeded synthetic X (the handout prints the predictions on them)."""
    return synthetic_data()[0][:n]


def untrained_logits(param_shapes: list[list[int]]) -> np.ndarray:
    """Raw outputs on synthetic_head() of the seeded untrained model whose shapes the student has."""
    num_filter = int(param_shapes[0][0])
    model = conv1d_model(num_filter)
    expected = [list(p.shape) for p in model.parameters()]
    if [list(s) for s in param_shapes] != expected:
        raise ValueError(f"parameter shapes {param_shapes} are not those of the specified model "
                         f"with {num_filter} filters ({expected})")
    return forward_conv1d(parameters_of(model), synthetic_head())


def loss_of_params(params: list[np.ndarray]) -> float:
    """Training loss (BCE with logits) on the seeded data of the specified model with these weights."""
    X, y = synthetic_data()
    return bce_with_logits(forward_conv1d([np.asarray(p, np.float32) for p in params], X), y)


def npz_arrays(max_pixel: int = 255, n: int = 24, seed: int = 3) -> dict[str, np.ndarray]:
    """A small MNIST-like file's arrays: X (n, 784) uint8 whose largest pixel is max_pixel, y int64."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, max_pixel + 1, size=(n, 784)).astype(np.uint8)
    X[0, 0] = max_pixel
    X[1, :] = 0
    y = rng.integers(0, 10, size=n).astype(np.int64)
    return {"X": X, "y": y}


def behaviour_inputs_2d(n: int = 8, seed: int = 11) -> np.ndarray:
    """Grader-chosen inputs for 2.2's behaviour check: (n, 1, 28, 28) float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28), dtype=np.float32)


def mnist_file_arrays(data) -> dict[str, np.ndarray]:  # data: grader.data.DataBundle
    """2.1: the arrays of the provisioned ``mnist_test.npz`` as the notebook finds it: X (N, 784)
    uint8 and y (N,) int64, the real data in its real dtype."""
    images = np.asarray(data.test.images)
    return {"X": images.reshape(len(images), -1), "y": np.asarray(data.test.labels)}


def calibration_convnet_accuracy(data, seed: int = 0) -> float:  # data: grader.data.DataBundle
    """Held-out accuracy of the reference 2.2 ConvNet trained as the handout says on `data`,
    from the initial weights of ``torch.manual_seed(seed)``."""
    params = train_mnist_convnet(data.train.images, data.train.labels, seed=seed)
    pred = predict_mnist_convnet(params, data.hidden.images)
    return float(np.mean(pred == data.hidden.labels))


# What the grader's inputs sample: the assignment's own data (grader/checks/domains.py).
_MNIST_FILE = {
    "X": {"dtype": "uint8", "shape": [[1, None], 784], "min": 0, "max": 255,
          "about": "mnist_*.npz as the handout provides it: X (N, 784) uint8 pixels"},
    "y": {"dtype": "int64", "shape": [[1, None]], "min": 0, "max": 9},
}
DOMAINS = {
    "behaviour_inputs_1d": {"batch": {
        "dtype": "float32", "shape": [[1, None], 1, SYNTHETIC_WIDTH], "min": -1, "max": 1,
        "about": "1.1's X: (N, 1, 20) float32 values in {-1, -0.5, 0, 0.5, 1}"}},
    "synthetic_head": {"batch": {"dtype": "float32", "shape": [[1, None], 1, SYNTHETIC_WIDTH],
                                 "min": -1, "max": 1}},
    "behaviour_inputs_2d": {"batch": {
        "dtype": "float32", "shape": [[1, None], 1, MNIST_SIDE, MNIST_SIDE], "min": 0, "max": 1,
        "about": "2.1's X_trn: (N, 1, 28, 28) float32 pixels in [0, 1]"}},
    "npz_arrays": _MNIST_FILE,
    "mnist_file_arrays": _MNIST_FILE,
}
