"""Data profiles: digits and MNIST loading, IDX validation, and provisioning a notebook's directory."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader.data import (
    DataBundle,
    DataError,
    Split,
    load_data,
    provision,
    read_idx,
    sources,
    write_idx,
)

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(
    not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"real MNIST t10k files not found in {MNIST_DIR}",
)


def image_hashes(images: np.ndarray) -> set[str]:
    return {hashlib.sha1(image.tobytes()).hexdigest() for image in images}


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n random 28x28 images (distinct with overwhelming probability) and labels cycling 0..9."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    return images, np.arange(n, dtype=np.int64) % 10


def write_mnist_dir(directory: Path, *, train: int | None, t10k: int, gz: bool) -> None:
    suffix = ".gz" if gz else ""
    directory.mkdir(parents=True, exist_ok=True)
    pairs = [("t10k", t10k, 1)] + ([("train", train, 2)] if train else [])
    for prefix, n, seed in pairs:
        images, labels = synthetic(n, seed)
        write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels)


def assert_well_formed(split: Split) -> None:
    assert split.images.dtype == np.uint8 and split.images.shape == (split.size, 28, 28)
    assert split.labels.dtype == np.int64 and split.labels.shape == (split.size,)
    assert split.labels.min() >= 0 and split.labels.max() <= 9


def assert_disjoint(bundle: DataBundle) -> None:
    train, test, hidden = (
        image_hashes(s.images) for s in (bundle.train, bundle.test, bundle.hidden)
    )
    assert not train & test and not train & hidden and not test & hidden


# --- digits profile ----------------------------------------------------------------------------


def test_digits_profile_is_1100_300_397_mnist_shaped_and_disjoint() -> None:
    bundle = load_data()
    assert (bundle.profile, bundle.full_mnist) == ("digits", False)
    assert (bundle.train.size, bundle.test.size, bundle.hidden.size) == (1100, 300, 397)
    assert "1,100 train / 300 test / 397 held out" in bundle.description
    for split in (bundle.train, bundle.test, bundle.hidden):
        assert_well_formed(split)
        # 20x20 ink centred in 28x28: the 4-pixel border is empty, the ink reaches 255.
        assert not split.images[:, :4].any() and not split.images[:, 24:].any()
        assert not split.images[:, :, :4].any() and not split.images[:, :, 24:].any()
    assert bundle.train.images.max() == 255
    assert_disjoint(bundle)


def test_digits_splits_are_stratified_so_each_class_has_its_share() -> None:
    bundle = load_data()
    for split in (bundle.train, bundle.test, bundle.hidden):
        counts = np.bincount(split.labels, minlength=10)
        assert np.all(np.abs(counts - split.size / 10) <= 3), counts


def test_digits_reload_after_cache_clear_gives_the_same_fingerprint() -> None:
    first = load_data(seed=3)
    sources._load_digits_bundle.cache_clear()
    second = load_data(seed=3)
    assert first is not second
    assert first.fingerprint == second.fingerprint
    assert np.array_equal(first.hidden.images, second.hidden.images)
    assert load_data(seed=4).fingerprint != first.fingerprint


def test_digits_built_once_are_read_from_the_user_cache_without_scikit_learn(
        tmp_path: Path) -> None:
    code = textwrap.dedent("""
        import sys
        from grader.data import load_data
        print(load_data().fingerprint, "sklearn.datasets" in sys.modules)
    """)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(2)]
    assert runs[0] == [load_data().fingerprint, "True"]  # built
    assert runs[1] == [load_data().fingerprint, "False"]  # read back: the same arrays
    assert len(list((tmp_path / "nbgrade-ml" / "data").glob("digits28-*.npz"))) == 1


def test_limits_keep_the_first_images_of_each_split() -> None:
    full = load_data()
    small = load_data(train_limit=50, test_limit=20, hidden_limit=10)
    assert (small.train.size, small.test.size, small.hidden.size) == (50, 20, 10)
    assert np.array_equal(small.train.images, full.train.images[:50])
    assert np.array_equal(small.hidden.labels, full.hidden.labels[:10])
    assert small.fingerprint != full.fingerprint
    assert "50 train / 20 test / 10 held out" in small.description
    with pytest.raises(ValueError, match="train_limit"):
        load_data(train_limit=-1)


def test_bundle_arrays_are_read_only_so_the_cache_cannot_be_corrupted() -> None:
    bundle = load_data()
    with pytest.raises(ValueError):
        bundle.train.images[0, 0, 0] = 1
    with pytest.raises(ValueError):
        bundle.hidden.labels[0] = 1


def test_summary_is_json_able() -> None:
    summary = json.loads(json.dumps(load_data().summary()))
    assert summary["sizes"] == {"train": 1100, "test": 300, "hidden": 397}
    assert summary["profile"] == "digits" and summary["full_mnist"] is False
    assert len(summary["fingerprint"]) == 16


# --- mnist profile -----------------------------------------------------------------------------


@needs_mnist
def test_real_t10k_alone_splits_7000_1000_2000_with_file_labels() -> None:
    bundle = load_data(MNIST_DIR)
    assert (bundle.profile, bundle.full_mnist) == ("mnist", False)
    assert (bundle.train.size, bundle.test.size, bundle.hidden.size) == (7000, 1000, 2000)
    images = read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    label_of = {hashlib.sha1(im.tobytes()).hexdigest(): int(lb) for im, lb in zip(images, labels)}
    seen: set[str] = set()
    for split in (bundle.train, bundle.test, bundle.hidden):
        assert_well_formed(split)
        for image, label in zip(split.images, split.labels):
            key = hashlib.sha1(image.tobytes()).hexdigest()
            assert label_of[key] == label
            seen.add(key)
    assert seen == set(label_of)  # every file image in exactly one split (sizes sum to 10,000)


def test_dir_with_train_and_t10k_uses_train_and_halves_t10k(tmp_path: Path) -> None:
    write_mnist_dir(tmp_path, train=600, t10k=200, gz=True)
    bundle = load_data(tmp_path)
    train_images, train_labels = synthetic(600, 2)
    assert np.array_equal(bundle.train.images, train_images)  # official order, untouched
    assert np.array_equal(bundle.train.labels, train_labels)
    assert (bundle.test.size, bundle.hidden.size) == (100, 100)
    assert bundle.full_mnist is False  # only 600 training images, not 60,000
    assert_disjoint(bundle)
    assert image_hashes(bundle.test.images) | image_hashes(bundle.hidden.images) == image_hashes(
        synthetic(200, 1)[0]
    )


def test_uncompressed_t10k_only_dir_splits_70_10_20(tmp_path: Path) -> None:
    write_mnist_dir(tmp_path, train=None, t10k=500, gz=False)
    bundle = load_data(tmp_path)
    assert (bundle.train.size, bundle.test.size, bundle.hidden.size) == (350, 50, 100)
    assert_disjoint(bundle)


def test_60000_training_images_make_full_mnist(tmp_path: Path) -> None:
    write_mnist_dir(tmp_path, train=60_000, t10k=100, gz=False)
    assert load_data(tmp_path).full_mnist is True
    assert load_data(tmp_path, train_limit=1000).full_mnist is False


def test_labels_file_in_place_of_images_names_the_file_and_magic(tmp_path: Path) -> None:
    write_mnist_dir(tmp_path, train=None, t10k=20, gz=True)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros(20, dtype=np.uint8))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: magic 2049, expected 2051"):
        load_data(tmp_path)


def test_truncated_images_file_names_the_file(tmp_path: Path) -> None:
    write_mnist_dir(tmp_path, train=None, t10k=20, gz=False)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte: .*header"):
        load_data(tmp_path)


def test_label_count_mismatch_names_both_files(tmp_path: Path) -> None:
    write_mnist_dir(tmp_path, train=None, t10k=20, gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(19, dtype=np.uint8))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte: 19 labels for 20 images"):
        load_data(tmp_path)


def test_dir_without_mnist_files_lists_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.*t10k-labels-idx1-ubyte"):
        load_data(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_data(tmp_path / "absent")


def test_images_without_labels_names_the_missing_file(tmp_path: Path) -> None:
    write_mnist_dir(tmp_path, train=None, t10k=20, gz=False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="not t10k-labels-idx1-ubyte"):
        load_data(tmp_path)


def test_edited_file_is_reread_not_served_from_cache(tmp_path: Path) -> None:
    write_mnist_dir(tmp_path, train=None, t10k=20, gz=False)
    before = load_data(tmp_path).fingerprint
    images, _ = synthetic(20, 9)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    os.utime(tmp_path / "t10k-images-idx3-ubyte", ns=(1, 1))  # a new mtime even on coarse clocks
    assert load_data(tmp_path).fingerprint != before


# --- IDX helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_write_idx_then_read_idx_round_trips_with_mnist_header(tmp_path: Path, name: str) -> None:
    images, labels = synthetic(7, 0)
    write_idx(tmp_path / name, images)
    write_idx(tmp_path / f"labels-{name}", labels)
    assert np.array_equal(read_idx(tmp_path / name), images)
    assert read_idx(tmp_path / f"labels-{name}").tolist() == labels.tolist()
    if not name.endswith(".gz"):
        header = (tmp_path / name).read_bytes()[:16]
        assert header == bytes.fromhex("00000803 00000007 0000001c 0000001c")


def test_write_idx_refuses_values_that_are_not_bytes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="0..255"):
        write_idx(tmp_path / "bad", np.array([1, 300]))


# --- provisioning ------------------------------------------------------------------------------


def test_npz_layout_round_trips_train_and_test(tmp_path: Path) -> None:
    bundle = load_data(train_limit=200, test_limit=50)
    paths = provision(bundle, tmp_path, ["npz"])
    assert paths == [tmp_path / "mnist_train.npz", tmp_path / "mnist_test.npz"]
    for path, split in zip(paths, (bundle.train, bundle.test)):
        with np.load(path, allow_pickle=False) as npz:
            assert set(npz.files) == {"X", "y"}
            assert npz["X"].dtype == np.uint8 and npz["X"].shape == (split.size, 784)
            assert npz["y"].dtype == np.int64
            assert np.array_equal(npz["X"].reshape(-1, 28, 28), split.images)
            assert np.array_equal(npz["y"], split.labels)


def test_provisioning_never_writes_the_hidden_split(tmp_path: Path) -> None:
    bundle = load_data()
    paths = provision(bundle, tmp_path, ["npz", "torchvision"])
    on_disk = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert on_disk == sorted(paths)
    written: set[str] = set()
    for path in on_disk:
        if path.suffix == ".npz":
            with np.load(path) as npz:
                written |= image_hashes(npz["X"].reshape(-1, 28, 28))
        elif "images" in path.name:
            written |= image_hashes(read_idx(path))
    assert written == image_hashes(bundle.train.images) | image_hashes(bundle.test.images)
    assert not written & image_hashes(bundle.hidden.images)


def test_unknown_layout_names_it_and_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="'keras'.*npz, torchvision"):
        provision(load_data(), tmp_path, ["npz", "keras"])
    assert not any(tmp_path.iterdir())  # checked before anything is written


TORCHVISION_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from torchvision.datasets import MNIST
    root, out = sys.argv[1], sys.argv[2]
    start = time.perf_counter()
    train = MNIST(root, download=True)
    test = MNIST(root, train=False)
    seconds = time.perf_counter() - start
    np.savez(out, train_x=train.data.numpy(), train_y=train.targets.numpy(),
             test_x=test.data.numpy(), test_y=test.targets.numpy(), seconds=seconds)
    """
)


def test_torchvision_layout_loads_in_torchvision_without_download(tmp_path: Path) -> None:
    pytest.importorskip("torchvision")
    bundle = load_data(train_limit=300, test_limit=100)
    root = tmp_path / "nb"
    provision(bundle, root, ["torchvision"])
    out = tmp_path / "loaded.npz"
    # A dead proxy makes any download attempt fail at once instead of reaching the network.
    env = {**os.environ, "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
    result = subprocess.run(
        [sys.executable, "-c", TORCHVISION_SCRIPT, str(root), str(out)],
        check=False,
        env=env,
        timeout=120,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert not list(root.rglob("*.gz"))
    with np.load(out) as loaded:
        assert float(loaded["seconds"]) < 2.0
        assert np.array_equal(loaded["train_x"], bundle.train.images)
        assert np.array_equal(loaded["train_y"], bundle.train.labels)
        assert np.array_equal(loaded["test_x"], bundle.test.images)
        assert np.array_equal(loaded["test_y"], bundle.test.labels)
