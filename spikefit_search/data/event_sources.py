"""Find the event format of a path and load it as binned frames.

``--dataset PATH`` is event data when PATH is a folder of ``<class>/*.bin`` or ``*.npy`` files
(with or without ``Train``/``Test``), an ``.h5``/``.hdf5`` file (or a folder of them) in the SHD
layout, or an ``.npz`` holding ``train_lengths``. The names ``nmnist``, ``shd`` and ``events``
with ``--data-dir PATH`` say the same explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spikefit_search.data.binning import Binning, bin_events
from spikefit_search.data.event_folder import is_event_folder, read_event_folder
from spikefit_search.data.event_npz import is_event_npz, read_event_npz
from spikefit_search.data.events import EventRecordings, common_sensor
from spikefit_search.data.hdf5 import SUFFIXES as HDF5_SUFFIXES
from spikefit_search.data.hdf5 import read_hdf5_pair
from spikefit_search.data.saccades import EMULATED_DIGITS, emulated_digits
from spikefit_search.data.sequential import ROWS, SEQUENTIAL_DIGITS, STEP_MS, sequential_digits
from spikefit_search.exceptions import DataError

Reader = Callable[[Path], tuple[EventRecordings, EventRecordings | None]]
EVENT_FORMATS: dict[str, Reader] = {
    "nmnist": read_event_folder,
    "shd": read_hdf5_pair,
    "events": read_event_npz,
    EMULATED_DIGITS: emulated_digits,
}
"""Dataset names of the event formats, for ``--dataset NAME --data-dir PATH``; the emulated
saccade digits need no path."""
FRAME_SOURCES = (SEQUENTIAL_DIGITS,)
"""Frame data made here, no path needed: the sequential digits (one image row a step)."""

TEST_FRACTION = 0.2
"""Share of the samples held out for test when a source has no test split of its own."""


@dataclass(frozen=True)
class EventFrames:
    """Binned event data: uint8 frames ``(N, T, C, H, W)`` and labels, per split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    window_ms: float
    """Mean time window of one recording (first to last event), in milliseconds."""
    kind: str


def event_format(name: str, data_dir: Path | None) -> tuple[str, Path] | None:
    """The event format and path ``name`` / ``data_dir`` refer to, or None for frame data."""
    if name == EMULATED_DIGITS or name in FRAME_SOURCES:
        return name, Path(name)
    if name in EVENT_FORMATS:
        if data_dir is None:
            raise DataError(f"{name} needs --data-dir pointing at its files, but got none.")
        return name, data_dir
    path = Path(name)
    if path.suffix in HDF5_SUFFIXES or (
        path.is_dir() and any(p.suffix in HDF5_SUFFIXES for p in path.iterdir())
    ):
        return "shd", path
    if is_event_npz(path):
        return "events", path
    if is_event_folder(path):
        return "nmnist", path
    if path.is_dir():
        raise DataError(
            f"a dataset folder must hold event recordings (Train/<class>/*.bin or *.npy, or "
            f"*.h5), but {path} holds none; for IDX files use --dataset mnist --data-dir {path}."
        )
    return None


def _stratified_test(labels: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test.append(idx[: max(1, round(len(idx) * TEST_FRACTION))] if len(idx) > 1 else idx[:0])
    return np.sort(np.concatenate(test))


def load_event_frames(fmt: str, path: Path, binning: Binning, *, seed: int = 0) -> EventFrames:
    """Read an event source and bin it. Without a test split, a stratified, seeded
    ``TEST_FRACTION`` of the samples is held out as test.

    Raises:
        DataError: the source is missing or malformed (nothing is returned half-read).
    """
    if fmt == SEQUENTIAL_DIGITS:
        x_tr, y_tr, x_te, y_te = sequential_digits(binning)
        steps = x_tr.shape[1] // ROWS
        return EventFrames(x_tr, y_tr, x_te, y_te, ROWS * steps * STEP_MS, "cochlea")
    train, test = EVENT_FORMATS[fmt](path)
    parts = [p for p in (train, test) if p is not None]
    sensor = common_sensor(*parts)
    x_tr = bin_events(train.with_sensor(sensor), binning)
    y_tr = train.labels
    durations = [p.durations_us() for p in parts]
    if test is not None:
        x_te = bin_events(test.with_sensor(sensor), binning)
        y_te = test.labels
    else:
        held = _stratified_test(y_tr, seed)
        if held.size == 0:
            raise DataError(
                f"{path} has no test split, so one is held out of it, but no class has 2 samples."
            )
        keep = np.setdiff1d(np.arange(len(y_tr)), held)
        x_tr, y_tr, x_te, y_te = x_tr[keep], y_tr[keep], x_tr[held], y_tr[held]
    window_ms = float(np.concatenate(durations).mean()) / 1e3
    return EventFrames(x_tr, y_tr, x_te, y_te, window_ms, train.kind)
