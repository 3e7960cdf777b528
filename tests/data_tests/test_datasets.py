from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from spikefit_search.data import load_dataset, read_idx
from spikefit_search.data.datasets import FASHION_MNIST_SYSTEM_DIR
from spikefit_search.exceptions import DataError, UnknownNameError


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def make_idx_dir(root: Path, *, n_train: int = 60, n_test: int = 20, gz: bool = False) -> Path:
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    write_idx(
        root / f"train-images-idx3-ubyte{suffix}", rng.integers(0, 256, (n_train, 6, 6)), gz=gz
    )
    write_idx(root / f"train-labels-idx1-ubyte{suffix}", np.arange(n_train) % 3, gz=gz)
    write_idx(root / f"t10k-images-idx3-ubyte{suffix}", rng.integers(0, 256, (n_test, 6, 6)), gz=gz)
    write_idx(root / f"t10k-labels-idx1-ubyte{suffix}", np.arange(n_test) % 3, gz=gz)
    return root


def test_digits_split_is_stratified_disjoint_and_seeded() -> None:
    a = load_dataset("digits", seed=0)
    b = load_dataset("digits", seed=0)
    c = load_dataset("digits", seed=1)
    assert a.input_shape == (1, 8, 8) and a.n_classes == 10
    sizes = a.sizes()
    assert sizes["test"] == 360 and sum(sizes.values()) == 1797
    assert torch.equal(a.x_val, b.x_val) and not torch.equal(a.x_val, c.x_val)
    assert float(a.x_train.max()) == 1.0 and float(a.x_train.min()) == 0.0
    counts = torch.bincount(a.y_val, minlength=10)
    assert int(counts.min()) >= 20  # every class in validation
    train_rows = {tuple(r.tolist()) for r in a.x_train.flatten(1)}
    assert not any(tuple(r.tolist()) in train_rows for r in a.x_calib.flatten(1)[:20])


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("layout", ["", "raw", "MNIST/raw"])
def test_mnist_idx_layouts(tmp_path: Path, gz: bool, layout: str) -> None:
    folder = tmp_path / layout
    folder.mkdir(parents=True, exist_ok=True)
    make_idx_dir(folder, gz=gz)
    d = load_dataset("mnist", data_dir=tmp_path)
    assert d.input_shape == (1, 6, 6)
    assert d.n_classes == 3
    assert d.sizes()["test"] == 20 and sum(d.sizes().values()) == 80
    assert float(d.x_train.min()) >= 0.0 and float(d.x_train.max()) <= 1.0


def test_npz(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    path = tmp_path / "data.npz"
    np.savez(
        path,
        x_train=rng.random((50, 4, 4)),
        y_train=np.arange(50) % 2,
        x_test=rng.random((10, 4, 4)),
        y_test=np.arange(10) % 2,
    )
    d = load_dataset(str(path))
    assert d.input_shape == (1, 4, 4) and d.n_classes == 2
    d2 = load_dataset("npz", data_dir=path)
    assert torch.equal(d.x_test, d2.x_test)


def test_limit_train(tmp_path: Path) -> None:
    make_idx_dir(tmp_path, n_train=90)
    d = load_dataset("mnist", data_dir=tmp_path, limit_train=30)
    assert d.sizes()["train"] == 30


def test_unknown_dataset() -> None:
    with pytest.raises(UnknownNameError, match="one of digits, emulated-saccade-digits, events"):
        load_dataset("cifar")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    make_idx_dir(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        load_dataset("mnist", data_dir=tmp_path)


def test_missing_folder_and_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="existing folder"):
        load_dataset("mnist", data_dir=tmp_path / "nope")
    with pytest.raises(DataError, match="needs --data-dir"):
        load_dataset("mnist")


def test_truncated_idx(tmp_path: Path) -> None:
    make_idx_dir(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match="must hold 2160 data bytes"):
        read_idx(path)


def test_not_idx(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"hello world")
    with pytest.raises(DataError, match="magic number"):
        read_idx(path)


def test_label_count_mismatch(tmp_path: Path) -> None:
    make_idx_dir(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(59) % 3)
    with pytest.raises(DataError, match="one label per sample, but got 60 samples"):
        load_dataset("mnist", data_dir=tmp_path)


def test_wrong_shape_npz(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    np.savez(
        path,
        x_train=np.zeros((5, 2, 2, 2, 2)),
        y_train=np.zeros(5, dtype=int),
        x_test=np.zeros((2, 4)),
        y_test=np.zeros(2, dtype=int),
    )
    with pytest.raises(DataError, match="images must have shape"):
        load_dataset(str(path))


def test_npz_missing_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=np.zeros((5, 4)), y_train=np.zeros(5, dtype=int))
    with pytest.raises(DataError, match="lacks x_test, y_test"):
        load_dataset(str(path))


@pytest.mark.skipif(
    not FASHION_MNIST_SYSTEM_DIR.is_dir(), reason="dataset-fashion-mnist not installed"
)
def test_fashion_mnist_from_debian_package() -> None:
    d = load_dataset("fashion-mnist", limit_train=1000)
    assert d.input_shape == (1, 28, 28) and d.n_classes == 10
    assert d.sizes()["test"] == 10000
    assert d.sizes()["val"] == 9000  # 15% of the full 60k training set
