"""Folders of event recordings, one file per sample: N-MNIST / N-Caltech101 ``.bin`` files, or
numpy structured arrays (``.npy``) with fields ``x, y, t, p`` (or ``channel, t``).

Layout: ``ROOT/Train/<class>/*.bin`` and ``ROOT/Test/<class>/*.bin`` (N-MNIST), or
``ROOT/<class>/*.bin`` without a split (N-Caltech101; the test split is then carved from it).

``.bin`` format (Orchard et al. 2015, the N-MNIST and N-Caltech101 distribution): 5 bytes (40 bits)
per event, most significant bit first: bits 39-32 x, bits 31-24 y, bit 23 polarity (1 = ON),
bits 22-0 time stamp in microseconds. An event with y = 240 marks a time-stamp overflow in the
files' own readers: it is dropped and 2^13 us is added to every later time stamp.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spikefit_search.data.events import EventRecordings, recordings
from spikefit_search.exceptions import DataError

BIN_EVENT_BYTES = 5
OVERFLOW_Y = 240
OVERFLOW_US = 2**13
EVENT_DTYPE = np.dtype([("x", "<i4"), ("y", "<i4"), ("t", "<i8"), ("p", "<i1")])
"""The structured dtype :func:`read_bin` returns (fields x, y, t, p as most SNN data tools)."""

SUFFIXES = (".bin", ".npy")
TRAIN_NAMES = ("Train", "train", "training")
TEST_NAMES = ("Test", "test", "testing")


def read_bin(path: str | Path) -> np.ndarray:
    """Read one N-MNIST / N-Caltech101 ``.bin`` file into a structured array (x, y, t, p).

    Raises:
        DataError: the file cannot be read or is not a whole number of 5-byte events.
    """
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise DataError(f"{path} must be a readable .bin file, but got {exc.strerror}.") from None
    if raw.size % BIN_EVENT_BYTES:
        raise DataError(
            f"{path} must hold 5-byte (40-bit) events, but its {raw.size} bytes are not a "
            "multiple of 5."
        )
    ev = raw.reshape(-1, BIN_EVENT_BYTES).astype(np.int64)
    x, y = ev[:, 0], ev[:, 1]
    p = ev[:, 2] >> 7
    t = ((ev[:, 2] & 0x7F) << 16) | (ev[:, 3] << 8) | ev[:, 4]
    overflow = y == OVERFLOW_Y
    if overflow.any():
        t = t + np.cumsum(overflow) * OVERFLOW_US
    keep = ~overflow
    out = np.empty(int(keep.sum()), EVENT_DTYPE)
    out["x"], out["y"], out["t"], out["p"] = x[keep], y[keep], t[keep], p[keep]
    return out


def write_bin(path: str | Path, events: np.ndarray) -> None:
    """Write a structured array (x, y, t, p) as an N-MNIST ``.bin`` file (the inverse of
    :func:`read_bin` for time stamps below 2^23 us)."""
    x = np.asarray(events["x"], np.int64)
    y = np.asarray(events["y"], np.int64)
    t = np.asarray(events["t"], np.int64)
    p = (np.asarray(events["p"]) > 0).astype(np.int64)
    if x.size and (max(x.max(), y.max()) > 255 or min(x.min(), y.min()) < 0 or t.max() >= 2**23):
        raise DataError("a .bin event must have x, y in 0..255 and t below 2^23 us, but not all.")
    word = (x << 32) | (y << 24) | (p << 23) | t
    raw = np.stack([(word >> s) & 0xFF for s in (32, 24, 16, 8, 0)], axis=1).astype(np.uint8)
    Path(path).write_bytes(raw.tobytes())


def _read_sample(path: Path) -> np.ndarray:
    if path.suffix == ".bin":
        return read_bin(path)
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} must be a readable .npy structured array, but got {exc}.") from (
            None
        )
    if arr.dtype.names is None or arr.ndim != 1:
        raise DataError(
            f"{path} must be a 1-D structured array with fields x, y, t, p or channel, t, but "
            f"got {arr.dtype} of shape {arr.shape}."
        )
    return arr


def _class_folders(split: Path) -> list[Path]:
    return sorted(p for p in split.iterdir() if p.is_dir() and not p.name.startswith("."))


def class_labels(names: list[str]) -> dict[str, int]:
    """Folder name -> label: the number itself when every name is an integer (N-MNIST's
    ``0``..``9``), else the index in sorted order."""
    if all(n.isdigit() for n in names):
        return {n: int(n) for n in names}
    return {n: i for i, n in enumerate(sorted(names))}


def _read_split(split: Path, labels: dict[str, int]) -> EventRecordings:
    samples: list[np.ndarray] = []
    ys: list[int] = []
    for folder in _class_folders(split):
        if folder.name not in labels:
            raise DataError(
                f"{split} class folders must also be in the training split, but {folder.name} "
                "is not."
            )
        for f in sorted(folder.iterdir()):
            if f.name.startswith(".") or f.is_dir():
                continue
            if f.suffix not in SUFFIXES:
                raise DataError(
                    f"{folder} must hold only .bin or .npy event files, but holds {f.name}."
                )
            samples.append(_read_sample(f))
            ys.append(labels[folder.name])
    if not samples:
        raise DataError(f"{split} must hold <class>/*.bin or <class>/*.npy files, but has none.")
    return recordings(samples, np.array(ys), where=str(split))


def is_event_folder(root: Path) -> bool:
    """Whether ``root`` looks like an event folder (a split or class folders of .bin/.npy)."""
    if not root.is_dir():
        return False
    if any((root / n).is_dir() for n in TRAIN_NAMES):
        root = next(root / n for n in TRAIN_NAMES if (root / n).is_dir())
    for folder in _class_folders(root):
        if any(f.suffix in SUFFIXES for f in folder.iterdir()):
            return True
    return False


def read_event_folder(root: str | Path) -> tuple[EventRecordings, EventRecordings | None]:
    """Read ``ROOT/Train/<class>/*`` and ``ROOT/Test/<class>/*`` (or ``ROOT/<class>/*``).

    Returns the training recordings and the test recordings (None without a ``Test`` folder).

    Raises:
        DataError: no such folder, no samples, a malformed file, or a test class unknown to the
            training split.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"an event folder must be an existing folder, but {root} is not.")
    train_dir = next((root / n for n in TRAIN_NAMES if (root / n).is_dir()), None)
    test_dir = next((root / n for n in TEST_NAMES if (root / n).is_dir()), None)
    if train_dir is None and test_dir is not None:
        raise DataError(f"{root} must hold a Train folder beside {test_dir.name}, but has none.")
    base = train_dir or root
    names = [p.name for p in _class_folders(base)]
    if len(names) < 2:
        raise DataError(
            f"{base} must hold one folder per class (at least 2), but holds {len(names)}."
        )
    labels = class_labels(names)
    train = _read_split(base, labels)
    test = _read_split(test_dir, labels) if test_dir is not None else None
    return train, test
