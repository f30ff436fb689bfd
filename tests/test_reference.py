"""Tests of the instructor's reference solutions (reference/lab9.py, reference/hw2.py).

The handout numbers (Lab 9 1.2-1.3) are checked exactly; the MNIST training functions are only
checked for shapes on tiny random data here (real-MNIST accuracy belongs to slow benchmarks).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reference import hw2, lab9

REPO = Path(__file__).resolve().parents[1]

TRACE_3_FILTERS = "0.8562 0.3519 0.3281 0.3212 0.3183 0.3165 0.3150 0.3137 0.3128 0.3119 0.3113"
TRACE_4_FILTERS = "0.5462 0.3510 0.2914 0.1697 0.0635 0.0318 0.0205 0.0153 0.0125 0.0107 0.0095"
EPOCHS_PRINTED = [1, *range(50, 501, 50)]


def _printed(trace: list[tuple[int, float]]) -> str:
    return " ".join(f"{loss:.4f}" for _, loss in trace)


def _random_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    return images, rng.integers(0, 10, n).astype(np.int64)


# --------------------------------------------------------------------------------------------
# module hygiene
# --------------------------------------------------------------------------------------------


def test_importing_references_does_not_import_torch() -> None:
    code = "import sys, reference.hw2, reference.lab9; sys.exit('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode()


def test_seeded_builders_leave_the_callers_torch_rng_alone() -> None:
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    lab9.conv1d_model(3)
    lab9.mnist_convnet()
    hw2.predict_cnn(hw2.train_cnn(*_random_images(8), epochs=1, batch_size=4), _random_images(2)[0])
    assert torch.equal(torch.rand(3), expected)


# --------------------------------------------------------------------------------------------
# Lab 9 part 1
# --------------------------------------------------------------------------------------------


def test_synthetic_data_equals_the_handouts_torch_construction() -> None:
    import torch

    np.random.seed(0)
    X = torch.zeros((75, 1, 20))
    y = torch.zeros((75, 1))
    for i in range(75):
        size = np.random.randint(1, 3)
        start = np.random.randint(0, 20 - size)
        value = np.random.choice([-1, -0.5, 0.5, 1])
        X[i, 0, start : start + size] = value
        if size == 1 and value == 1:
            y[i] = 1
    X_ref, y_ref = lab9.synthetic_data()
    assert X_ref.dtype == np.float32 and y_ref.dtype == np.float32
    np.testing.assert_array_equal(X_ref, X.numpy())
    np.testing.assert_array_equal(y_ref, y.numpy())


def test_reference_synthetic_data_breaks_no_rule() -> None:
    assert lab9.synthetic_rule_violations(*lab9.synthetic_data()) == []


def test_flipped_label_is_reported_by_row() -> None:
    X, y = lab9.synthetic_data()
    row = int(np.flatnonzero(y[:, 0] == 1)[0])
    y[row] = 0
    assert lab9.synthetic_rule_violations(X, y) == [
        f"row {row}: y is 0 but the row has a single +1 pixel"
    ]


@pytest.mark.parametrize(
    ("pixels", "words"),
    [
        ([], "all zeros"),
        ([(3, 1.0), (4, 1.0), (5, 1.0)], "3 non-zero values"),
        ([(3, 0.5), (6, 0.5)], "not next to each other"),
        ([(3, 0.5), (4, 1.0)], "two different values"),
        ([(3, 0.25)], "not one of -1, -0.5, 0.5, 1"),
    ],
)
def test_malformed_row_is_reported(pixels: list[tuple[int, float]], words: str) -> None:
    X, y = lab9.synthetic_data()
    X[7, 0, :] = 0
    y[7] = 0
    for column, value in pixels:
        X[7, 0, column] = value
    (sentence,) = lab9.synthetic_rule_violations(X, y)
    assert sentence.startswith("row 7") and words in sentence


def test_wrong_shapes_are_reported_and_many_problems_are_capped() -> None:
    X, y = lab9.synthetic_data()
    assert lab9.synthetic_rule_violations(X[:, 0, :], y) == [
        "X has shape (75, 20), expected (75, 1, 20)"
    ]
    sentences = lab9.synthetic_rule_violations(X, 1 - y)
    assert len(sentences) == lab9.MAX_SENTENCES
    assert sentences[-1] == "and 71 more rows break the rules"


def test_untrained_3_filter_outputs_match_handout() -> None:
    outputs = lab9.untrained_outputs(3)
    assert outputs.shape == (5, 1)
    assert [f"{p:.3f}" for p in outputs[:, 0]] == ["0.611", "0.575", "0.604", "0.576", "0.597"]


def test_training_3_filters_prints_the_handouts_trace() -> None:
    result = lab9.train_conv1d(3)
    assert [epoch for epoch, _ in result["trace"]] == EPOCHS_PRINTED
    assert _printed(result["trace"]) == TRACE_3_FILTERS


def test_training_4_filters_prints_the_handouts_trace_and_fits() -> None:
    result = lab9.train_conv1d(4)
    assert _printed(result["trace"]) == TRACE_4_FILTERS
    X, y = lab9.synthetic_data()
    logits = lab9.forward_conv1d(result["params"], X)
    assert logits.shape == (75, 1)
    assert lab9.bce_with_logits(logits, y) == pytest.approx(result["final_loss"], rel=1e-4)
    assert result["final_loss"] < result["trace"][-1][1]
    assert [p.shape for p in result["untrained_params"]] == [(4, 1, 5), (4,), (1, 4), (1,)]
    untrained = lab9.forward_conv1d(result["untrained_params"], X)
    assert lab9.bce_with_logits(untrained, y) == pytest.approx(0.5462, abs=5e-5)


def test_bce_with_logits_is_stable_for_huge_logits() -> None:
    logits = np.array([[1000.0], [-1000.0], [0.0]])
    y = np.array([[1.0], [0.0], [1.0]])
    assert lab9.bce_with_logits(logits, y) == pytest.approx(np.log(2) / 3)


def test_forward_conv1d_rejects_weights_of_the_wrong_shape() -> None:
    params = lab9.parameters_of(lab9.conv1d_model(3))
    params[2] = np.zeros((1, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="parameter 2 has shape"):
        lab9.forward_conv1d(params, lab9.synthetic_data()[0])


# --------------------------------------------------------------------------------------------
# Lab 9 part 2
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", [(784,), (28, 28)])
def test_load_mnist_for_convnet_divides_by_255_not_by_the_max(
    tmp_path: Path, layout: tuple[int, ...]
) -> None:
    images = np.random.default_rng(0).integers(0, 201, (6, *layout), dtype=np.uint8)
    images[0].flat[0] = 200
    path = tmp_path / "mnist_small.npz"
    np.savez(path, X=images, y=np.arange(6, dtype=np.uint8))
    X, y = lab9.load_mnist_for_convnet(path)
    assert X.dtype == np.float32 and X.shape == (6, 1, 28, 28)
    assert y.dtype == np.int64 and y.tolist() == list(range(6))
    assert X.max() == np.float32(200 / 255)
    np.testing.assert_array_equal(
        X.reshape(6, -1), (images.reshape(6, -1) / 255).astype(np.float32)
    )


def test_load_mnist_for_convnet_names_a_missing_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, images=np.zeros((2, 784), dtype=np.uint8))
    with pytest.raises(ValueError, match="missing key"):
        lab9.load_mnist_for_convnet(path)


def test_mnist_convnet_trains_and_predicts_with_the_right_shapes() -> None:
    images, labels = _random_images(200)
    params = lab9.train_mnist_convnet(images, labels, epochs=1)
    assert [p.shape for p in params] == [(8, 1, 5, 5), (8,), (10, 1568), (10,)]
    assert all(p.dtype == np.float32 for p in params)
    again = lab9.train_mnist_convnet(images, labels, epochs=1)
    assert all(np.array_equal(a, b) for a, b in zip(params, again, strict=True))
    logits = lab9.forward_mnist_convnet(params, (images[:5] / 255).astype(np.float32)[:, None])
    assert logits.shape == (5, 10)
    predicted = lab9.predict_mnist_convnet(params, images)
    assert predicted.shape == (200,) and predicted.dtype == np.int64
    np.testing.assert_array_equal(predicted[:5], logits.argmax(axis=1))


# --------------------------------------------------------------------------------------------
# hw2 1.1-1.2
# --------------------------------------------------------------------------------------------


def _first_of_each_class(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.stack([images[labels == c][0] for c in range(10)]).astype(np.float64)


def test_first_image_of_each_class_is_accepted_in_both_layouts() -> None:
    images, labels = _random_images(300)
    digits = _first_of_each_class(images, labels)
    assert hw2.digit_images_violations(digits, images, labels) == []
    assert hw2.digit_images_violations(digits.reshape(10, 784), images, labels) == []


_NOT_OF_CLASS = "image {0} is not an image of class {0} from the training set"


def test_swapped_rescaled_and_unknown_digit_images_are_named() -> None:
    images, labels = _random_images(300)
    digits = _first_of_each_class(images, labels)
    digits[[3, 8]] = digits[[8, 3]]
    digits[5] = digits[5] / 255
    digits[6, 0, 0] = (digits[6, 0, 0] + 1) % 256
    assert hw2.digit_images_violations(digits, images, labels) == [
        f"{_NOT_OF_CLASS.format(3)} (it matches an image of class 8)",
        f"{_NOT_OF_CLASS.format(5)} (its values are not whole numbers in 0..255, e.g. rescaled)",
        f"{_NOT_OF_CLASS.format(6)} (it matches no training image)",
        f"{_NOT_OF_CLASS.format(8)} (it matches an image of class 3)",
    ]
    assert hw2.digit_images_violations(digits[:9], images, labels) == [
        "digit_images has shape (9, 28, 28), expected (10, 28, 28)"
    ]


def test_pca_gives_both_covariance_conventions_and_descending_eigenpairs() -> None:
    images, _ = _random_images(50)
    result = hw2.pca(images)
    flat = images.reshape(50, -1).astype(np.float64)
    np.testing.assert_allclose(result["mean"], flat.mean(axis=0))
    np.testing.assert_allclose(result["covmat_n1"], np.cov(flat, rowvar=False), atol=1e-9)
    np.testing.assert_allclose(result["covmat_n"], np.cov(flat, rowvar=False, bias=True), atol=1e-9)
    eigvals, eigvecs = result["eigvals"], result["eigvecs"]
    assert np.all(np.diff(eigvals) <= 1e-9)
    np.testing.assert_allclose(result["covmat_n1"] @ eigvecs[:, :5], eigvecs[:, :5] * eigvals[:5])
    n_eigvals = np.linalg.eigvalsh(result["covmat_n"])[::-1]
    np.testing.assert_allclose(result["eigvals_n"], n_eigvals, atol=1e-8)
    np.testing.assert_array_equal(result["eigvals_n1"], eigvals)


def test_reconstruction_ignores_eigenvector_signs_and_is_exact_with_all_components() -> None:
    images, labels = _random_images(50)
    result = hw2.pca(images)
    digits = _first_of_each_class(images, labels)
    flipped = result["eigvecs"] * np.where(np.arange(784) % 3 == 0, -1.0, 1.0)
    for k in (2, 50):
        expected = hw2.reconstruct(digits, result["mean"], result["eigvecs"], k)
        assert expected.shape == (10, 28, 28)
        np.testing.assert_allclose(
            hw2.reconstruct(digits, result["mean"], flipped, k), expected, atol=1e-9
        )
    full = hw2.reconstruct(digits.reshape(10, 784), result["mean"], result["eigvecs"], 784)
    np.testing.assert_allclose(full, digits, atol=1e-8)


def test_centered_summary_keeps_shape_rows_and_column_sums() -> None:
    data = np.arange(12.0).reshape(4, 3)
    summary = hw2.centered_summary(data, np.array([0, 3]))
    assert summary["shape"] == (4, 3)
    np.testing.assert_array_equal(summary["rows"], [[0, 1, 2], [9, 10, 11]])
    np.testing.assert_array_equal(summary["colsum"], [18, 22, 26])


# --------------------------------------------------------------------------------------------
# hw2 2.1 KNN
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("train", "labels", "k", "acceptable"),
    [
        # two points at distance 1: either may be the single neighbour
        ([1, -1, 3], [0, 1, 2], 1, {0, 1}),
        # both taken, 1-1 vote
        ([1, -1, 3], [0, 1, 2], 2, {0, 1}),
        # all three taken, 1-1-1 vote
        ([1, -1, 3], [0, 1, 2], 3, {0, 1, 2}),
        # 0 is sure, one of {0 at 2, 1 at -2}: 2-0 or 1-1
        ([1, 2, -2], [0, 0, 1], 2, {0, 1}),
        # 0, 0 sure, one of {1, 2} at distance 2: class 0 always wins
        ([1, -1, 2, -2], [0, 0, 1, 2], 3, {0}),
        # no ties at all
        ([1, 2, 5], [4, 4, 7], 2, {4}),
    ],
)
def test_knn_acceptable_labels_on_hand_made_ties(
    train: list[int], labels: list[int], k: int, acceptable: set[int]
) -> None:
    train_X = np.array(train, dtype=np.float64)[:, None]
    test_X = np.zeros((1, 1))
    assert hw2.knn_acceptable_labels(train_X, np.array(labels), test_X, k) == [acceptable]


def test_knn_tie_dataset_has_ties_and_a_kdtree_classifier_fits_them() -> None:
    from scipy.spatial import KDTree
    from scipy.stats import mode

    data = hw2.knn_tie_dataset()
    assert data["train_X"].shape == (60, 784) and data["test_X"].shape == (20, 784)
    assert data["train_X"].dtype == np.uint8  # the assignment's pixels, as loaded
    assert data["k"] == 4 and len(set(data["train_y"].tolist())) == 4
    acceptable = hw2.knn_acceptable_labels(data["train_X"], data["train_y"], data["test_X"], 4)
    assert sum(len(s) > 1 for s in acceptable) >= 8
    assert any(len(s) == 4 for s in acceptable)
    _, neighbours = KDTree(data["train_X"]).query(data["test_X"], k=4)
    predicted = mode(data["train_y"][neighbours], axis=1).mode
    assert all(int(p) in s for p, s in zip(predicted, acceptable, strict=True))
    wrong = [min({0, 1, 2, 3} - s) for s in acceptable if len(s) < 4]
    assert wrong, "some test points must have a label that a correct k-NN never outputs"


def test_knn_rejects_k_larger_than_the_training_set() -> None:
    with pytest.raises(ValueError, match="k=4"):
        hw2.knn_acceptable_labels(np.zeros((3, 2)), np.zeros(3), np.zeros((1, 2)), 4)


# --------------------------------------------------------------------------------------------
# hw2 2.2 softmax regression
# --------------------------------------------------------------------------------------------


def test_softmax_is_stable_for_large_scores_and_leaves_its_input_alone() -> None:
    x = np.array([1000.0, 1001.0])
    result = hw2.softmax(x)
    np.testing.assert_allclose(result, [1 / (1 + np.e), np.e / (1 + np.e)])
    np.testing.assert_array_equal(x, [1000.0, 1001.0])


def test_loss_is_minus_log_probability_of_the_true_class() -> None:
    rng = np.random.default_rng(0)
    W, b, x = rng.normal(size=(4, 6)), rng.normal(size=4), rng.normal(size=6)
    y_true = np.eye(4)[2]
    assert hw2.J(W, b, y_true, x) == pytest.approx(-np.log(hw2.softmax(W @ x + b)[2]))
    assert np.isfinite(hw2.J(W * 1e4, b, y_true, x))


def test_analytic_gradient_matches_central_differences() -> None:
    rng = np.random.default_rng(1)
    W, b, x = rng.normal(size=(4, 6)), rng.normal(size=4), rng.normal(size=6)
    y_true = np.eye(4)[1]
    dW, db = hw2.dJ(W, b, y_true, x)
    num_dW, num_db = hw2.numerical_grad(W, b, y_true, x)
    np.testing.assert_allclose(dW, num_dW, atol=1e-7)
    np.testing.assert_allclose(db, num_db, atol=1e-7)


def test_sgd_separates_a_small_seeded_problem_reproducibly() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=(3, 8))
    labels = rng.integers(0, 3, 300)
    Xs = centres[labels] + rng.normal(size=(300, 8))
    onehot = np.eye(3)[labels]
    np.random.seed(99)
    global_state = np.random.get_state()[1].copy()
    W, b = hw2.sgd(Xs, onehot, n_classes=3, lr=0.01, max_epoch=5, seed=7)
    np.testing.assert_array_equal(np.random.get_state()[1], global_state)
    assert np.mean(np.argmax(Xs @ W.T + b, axis=1) == labels) > 0.9
    W_again, b_again = hw2.sgd(Xs, onehot, n_classes=3, lr=0.01, max_epoch=5, seed=7)
    np.testing.assert_array_equal(W, W_again)
    np.testing.assert_array_equal(b, b_again)
    np.random.seed(7)
    W0, _ = hw2.sgd(Xs, onehot, n_classes=3, max_epoch=0)
    np.testing.assert_array_equal(W0, np.random.RandomState(7).rand(3, 8) - 0.5)


def test_softmax_accuracy_scales_images_by_255() -> None:
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[0, 0, 0] = 255
    W = np.zeros((10, 784))
    W[3, 0] = 1.0
    b = np.full(10, -0.5)
    b[7] = 0.0
    assert hw2.softmax_accuracy(W, b, images, np.array([3, 7])) == 1.0
    assert hw2.softmax_accuracy(W, b, images, np.array([3, 3])) == 0.5


# --------------------------------------------------------------------------------------------
# hw2 3.1 CNN
# --------------------------------------------------------------------------------------------


def test_cnn_class_follows_the_spec_and_offers_the_handouts_variant() -> None:
    import torch

    CNN = hw2.CNN
    assert CNN is hw2.cnn_class()
    spec, answer = CNN((1, 28, 28), 10), CNN((1, 28, 28), 10, hidden=None)
    assert [tuple(p.shape) for p in spec.parameters()][4:] == [
        (1024, 1024),
        (1024,),
        (10, 1024),
        (10,),
    ]
    assert [tuple(p.shape) for p in answer.parameters()][4:] == [(10, 1024), (10,)]
    assert spec(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("hidden", [1024, None])
def test_cnn_trains_and_predicts_with_the_right_shapes(hidden: int | None) -> None:
    images, labels = _random_images(200)
    params = hw2.train_cnn(images, labels, epochs=1, hidden=hidden)
    assert len(params) == (8 if hidden else 6)
    assert [p.shape for p in params[:4]] == [(32, 1, 5, 5), (32,), (64, 32, 5, 5), (64,)]
    predicted = hw2.predict_cnn(params, images)
    assert predicted.shape == (200,) and predicted.dtype == np.int64
    assert set(predicted.tolist()) <= set(range(10))


def test_predict_cnn_rejects_weights_of_the_wrong_shape() -> None:
    params = hw2.train_cnn(*_random_images(8), epochs=1, batch_size=4, hidden=None)
    params[4] = np.zeros((10, 1000), dtype=np.float32)
    with pytest.raises(ValueError, match="parameter 4 has shape"):
        hw2.predict_cnn(params, _random_images(2)[0])
