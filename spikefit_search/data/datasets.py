"""Dataset loaders. Nothing is downloaded: data come from installed packages or user files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spikefit_search._registry import Registry
from spikefit_search.data.binning import Binning
from spikefit_search.data.event_npz import is_event_npz
from spikefit_search.data.event_sources import (
    EVENT_FORMATS,
    FRAME_SOURCES,
    event_format,
    load_event_frames,
)
from spikefit_search.data.idx import read_idx
from spikefit_search.exceptions import DataError, UnknownNameError

FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's ``dataset-fashion-mnist`` package installs the IDX files."""

_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class Dataset:
    """Classification data split four ways.

    ``train`` fits the weights, ``val`` selects candidates in the search, ``calib`` (a small
    held-out part of the training data) scores neurons for pruning, and ``test`` is only
    reported. Static inputs are float32 in [0, 1] with shape ``(N, C, H, W)``; event data are
    binned frames, uint8 event counts with shape ``(N, T, C, H, W)``. Labels are int64.
    ``window_ms`` is the mean duration of one recording in milliseconds (None for static data).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_calib: torch.Tensor
    y_calib: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int
    window_ms: float | None = None

    @property
    def input_shape(self) -> tuple[int, int, int]:
        c, h, w = self.x_train.shape[-3:]
        return (int(c), int(h), int(w))

    @property
    def timesteps(self) -> int | None:
        """Frames per sample of event data (fixed by the binning); None for static data."""
        return int(self.x_train.shape[1]) if self.x_train.dim() == 5 else None

    def sizes(self) -> dict[str, int]:
        return {
            split: int(getattr(self, f"y_{split}").shape[0])
            for split in ("train", "val", "calib", "test")
        }

    def to(self, device: torch.device | str) -> Dataset:
        moved: dict[str, Any] = {
            k: v.to(device) for k, v in vars(self).items() if isinstance(v, torch.Tensor)
        }
        return replace(self, **moved)


MAX_CLASSES = 1000
"""Labels are class numbers 0..999 (one output neuron per class)."""

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Loader = Callable[[Path | None], Arrays]
DATASETS: Registry[Loader] = Registry("dataset")


@DATASETS.register("digits")
def _digits(data_dir: Path | None) -> Arrays:
    """scikit-learn's 8x8 handwritten digits (1797 samples, shipped inside scikit-learn)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    del data_dir
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).reshape(-1, 1, 8, 8)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    return x_tr, y_tr, x_te, y_te


@DATASETS.register("fashion-mnist")
def _fashion_mnist(data_dir: Path | None) -> Arrays:
    """Fashion-MNIST IDX files: ``--data-dir``, else Debian's ``dataset-fashion-mnist``."""
    if data_dir is None:
        if not FASHION_MNIST_SYSTEM_DIR.is_dir():
            raise DataError(
                "fashion-mnist needs its IDX files: install the Debian package "
                "dataset-fashion-mnist or pass --data-dir, but "
                f"{FASHION_MNIST_SYSTEM_DIR} does not exist."
            )
        data_dir = FASHION_MNIST_SYSTEM_DIR
    return _read_idx_dir(data_dir, "FashionMNIST")


@DATASETS.register("mnist")
def _mnist(data_dir: Path | None) -> Arrays:
    """MNIST-format IDX files from ``--data-dir`` (flat, ``raw/`` or ``MNIST/raw/``)."""
    if data_dir is None:
        raise DataError("mnist needs --data-dir pointing at its IDX files, but got none.")
    return _read_idx_dir(data_dir, "MNIST")


@DATASETS.register("npz")
def _npz(data_dir: Path | None) -> Arrays:
    """A ``.npz`` file holding ``x_train, y_train, x_test, y_test``."""
    if data_dir is None:
        raise DataError("npz needs --data-dir pointing at a .npz file, but got none.")
    return _read_npz(data_dir)


def _resolve_idx(folder: Path, stem: str, class_name: str) -> Path:
    candidates = []
    for sub in (folder, folder / "raw", folder / class_name / "raw"):
        for name in (stem, stem.replace("-idx", ".idx")):
            candidates += [sub / name, sub / f"{name}.gz"]
    for c in candidates:
        if c.is_file():
            return c
    raise DataError(
        f"{folder} must hold {stem} (or {stem}.gz, also under raw/ or {class_name}/raw/), "
        "but it was not found."
    )


def _read_idx_dir(folder: Path, class_name: str) -> Arrays:
    if not folder.is_dir():
        raise DataError(f"--data-dir must be an existing folder, but {folder} is not.")
    arrays = [read_idx(_resolve_idx(folder, stem, class_name)) for stem in _IDX_FILES.values()]
    return arrays[0], arrays[1], arrays[2], arrays[3]


def _read_npz(path: Path) -> Arrays:
    if not path.is_file():
        raise DataError(f"npz data must be an existing .npz file, but {path} is not.")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in _IDX_FILES if k not in f.files]
            if missing:
                raise DataError(
                    f"{path} must hold arrays x_train, y_train, x_test, y_test, "
                    f"but lacks {', '.join(missing)}."
                )
            return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    except DataError:
        raise
    except Exception as exc:  # zipfile, zlib and numpy raise many kinds
        # (EOFError from an empty file must not reach click, which takes it for Ctrl-D)
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise DataError(f"{path} must be a readable .npz file, but got {reason}.") from None


def _images(x: np.ndarray, y: np.ndarray, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    if x.ndim == 2:
        x = x.reshape(x.shape[0], 1, 1, x.shape[1])
    elif x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[0] == 0:
        raise DataError(
            f"{where} images must have shape (N, H, W), (N, C, H, W) or (N, D), "
            f"but got {tuple(x.shape)}."
        )
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise DataError(
            f"{where} must have one label per sample, but got {x.shape[0]} samples and labels "
            f"of shape {tuple(y.shape)}."
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{where} labels must be integers, but got dtype {y.dtype}.")
    if y.size and (y.min() < 0 or y.max() >= MAX_CLASSES):
        bad = y.min() if y.min() < 0 else y.max()
        raise DataError(
            f"{where} labels must be class numbers within 0..{MAX_CLASSES - 1}, but got {bad}."
        )
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise DataError(f"{where} images must hold numbers, but got dtype {x.dtype}.")
    if np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{where} images must hold real numbers, but got dtype {x.dtype}.")
    with np.errstate(over="ignore", invalid="ignore"):
        xf = x.astype(np.float32)
    finite = np.isfinite(xf)
    if not finite.all():
        bad_count = int((~finite).sum())
        raise DataError(
            f"{where} images must hold finite numbers that fit float32, but {bad_count} values "
            "are NaN, infinite or too large."
        )
    if np.issubdtype(x.dtype, np.integer):
        xf /= 255.0 if xf.max() > 1 else 1.0
    elif xf.size and (xf.min() < 0 or xf.max() > 1):
        lo, hi = float(xf.min()), float(xf.max())
        xf = (xf - lo) / (hi - lo if hi > lo else 1.0)
    return torch.from_numpy(np.ascontiguousarray(xf)), torch.from_numpy(y.astype(np.int64))


def _stratified_take(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` samples drawn class by class in proportion to the class counts."""
    classes, counts = np.unique(y, return_counts=True)
    quota = np.floor(counts / counts.sum() * n).astype(int)
    quota[np.argsort(-counts)[: n - quota.sum()]] += 1
    picked = [rng.permutation(np.flatnonzero(y == c))[:q] for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(picked))


def parse_classes(text: str) -> tuple[int, ...]:
    """The labels of ``--classes``: ranges and single labels, comma-separated (``0-7``,
    ``0,1,2,3``, ``0-3,8``), at least two, each once; returned in ascending order.

    Raises:
        DataError: ``text`` is not such a list.
    """
    rule = "--classes must be labels or ranges such as 0-7 or 0,1,2,3, each once, at least two"
    labels: list[int] = []
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise DataError(f"{rule}, but got {text!r}.")
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise DataError(f"{rule}, but got {text!r} (range {part.strip()} is empty).")
        labels.extend(range(first, last + 1))
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise DataError(f"{rule}, but got {text!r}.")
    return tuple(sorted(labels))


def _keep_classes(
    classes: tuple[int, ...],
    xt: torch.Tensor,
    yt: torch.Tensor,
    xe: torch.Tensor,
    ye: torch.Tensor,
    where: str,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Train and test samples of ``classes`` only, labels renumbered ``0..k-1``."""
    present = set(np.unique(yt.numpy()).tolist())
    missing = [c for c in classes if c not in present]
    if missing:
        raise DataError(
            f"--classes must name labels of {where} ({', '.join(map(str, sorted(present)))}), "
            f"but got {', '.join(map(str, missing))}."
        )
    size = max(int(yt.max()), int(ye.max()), max(classes)) + 1
    table = torch.full((size,), -1, dtype=torch.int64)
    table[list(classes)] = torch.arange(len(classes))
    train, test = table[yt] >= 0, table[ye] >= 0
    return xt[train], table[yt[train]], xe[test], table[ye[test]]


def load_dataset(
    name: str,
    *,
    data_dir: str | Path | None = None,
    val_fraction: float = 0.15,
    calib_fraction: float = 0.05,
    max_calib: int = 2000,
    limit_train: int | None = None,
    seed: int = 0,
    binning: Binning | None = None,
    classes: tuple[int, ...] | None = None,
) -> Dataset:
    """Load a dataset by name and carve validation and calibration splits from its training part.

    Args:
        name: ``digits`` (default, embedded), ``fashion-mnist``, ``mnist``, ``npz``, a path to
            a ``.npz`` file, or event data: a path to an N-MNIST-style folder, an SHD ``.h5``
            file or an event ``.npz`` (or ``nmnist``, ``shd``, ``events`` with ``data_dir``);
            see ``docs/data.md``.
        data_dir: folder with IDX files, or the ``.npz`` file.
        val_fraction, calib_fraction: shares of the training data held out (stratified, seeded).
        max_calib: cap on the calibration split.
        limit_train: keep at most this many training samples (stratified), for quick runs.
        seed: seeds the splits.
        binning: how event data become frames (default :class:`Binning`); static data ignore it.
        classes: keep only these labels (every split), relabelled ``0..k-1`` in ascending
            order of the original label (``(2, 5, 7)``: 2 is 0, 5 is 1, 7 is 2); see
            :func:`parse_classes`.
    """
    path = Path(data_dir) if data_dir is not None else None
    events = None
    if name not in DATASETS:
        events = event_format(name, path)
    elif name == "npz" and path is not None and is_event_npz(path):
        events = ("events", path)
    if not 0.0 < val_fraction < 0.5 or not 0.0 < calib_fraction < 0.5:
        raise DataError(
            "val_fraction and calib_fraction must be in (0, 0.5), but got "
            f"{val_fraction} and {calib_fraction}."
        )
    window_ms = None
    if events is not None:
        frames = load_event_frames(*events, binning or Binning(), seed=seed)
        where = str(events[1])
        xt, yt = torch.from_numpy(frames.x_train), torch.from_numpy(frames.y_train)
        xe, ye = torch.from_numpy(frames.x_test), torch.from_numpy(frames.y_test)
        window_ms = frames.window_ms
    else:
        if name.endswith(".npz"):
            name, path = "npz", Path(name)
        if name not in DATASETS:
            raise UnknownNameError(
                "dataset", name, [*DATASETS.names(), *EVENT_FORMATS, *FRAME_SOURCES]
            )
        loader = DATASETS.get(name)
        x_tr, y_tr, x_te, y_te = loader(path)
        where = str(path) if path is not None else name
        xt, yt = _images(np.asarray(x_tr), np.asarray(y_tr), f"{where} (train)")
        xe, ye = _images(np.asarray(x_te), np.asarray(y_te), f"{where} (test)")
    if xt.shape[1:] != xe.shape[1:]:
        raise DataError(
            f"{where} train and test images must have the same shape, but got "
            f"{tuple(xt.shape[1:])} and {tuple(xe.shape[1:])}."
        )
    if classes is not None:
        xt, yt, xe, ye = _keep_classes(classes, xt, yt, xe, ye, where)
    present = np.unique(yt.numpy())
    if len(present) < 2:
        raise DataError(
            f"{where} training labels must hold at least 2 classes, but hold only "
            f"{', '.join(str(c) for c in present) or 'none'}."
        )
    n_classes = int(max(yt.max(), ye.max())) + 1
    rng = np.random.default_rng(seed)
    y_np = yt.numpy()
    n = len(y_np)
    n_val = max(n_classes, round(n * val_fraction))
    n_cal = max(n_classes, min(max_calib, round(n * calib_fraction)))
    if n_val + n_cal >= n:
        raise DataError(f"{where} needs more training samples to split, but has only {n}.")
    val_idx = _stratified_take(y_np, n_val, rng)
    rest = np.setdiff1d(np.arange(n), val_idx)
    cal_idx = rest[_stratified_take(y_np[rest], n_cal, rng)]
    rest = np.setdiff1d(rest, cal_idx)
    if limit_train is not None and limit_train < len(rest):
        rest = rest[_stratified_take(y_np[rest], limit_train, rng)]
    return Dataset(
        name=name,
        x_train=xt[rest],
        y_train=yt[rest],
        x_val=xt[val_idx],
        y_val=yt[val_idx],
        x_calib=xt[cal_idx],
        y_calib=yt[cal_idx],
        x_test=xe,
        y_test=ye,
        n_classes=n_classes,
        window_ms=window_ms,
    )
