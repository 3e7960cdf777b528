"""Spiking Heidelberg Digits (SHD) and Spiking Speech Commands (SSC) HDF5 files (Cramer et al.
2020): ``spikes/times`` (one float array per sample, seconds), ``spikes/units`` (one integer array
per sample, channel 0..699) and ``labels`` (one integer per sample). Reading needs ``h5py``
(``pip install spikefit-search[events]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from spikefit_search.data.events import EventRecordings, from_arrays
from spikefit_search.exceptions import DataError

SHD_CHANNELS = 700
"""Channels of the SHD / SSC cochlea model; a file that uses more gets ``max unit + 1``."""
SUFFIXES = (".h5", ".hdf5")


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise DataError(
            "reading HDF5 event files needs h5py (pip install 'spikefit-search[events]'), "
            "but it is not installed."
        ) from None
    return h5py


def read_shd(path: str | Path) -> EventRecordings:
    """Read one SHD / SSC HDF5 file.

    Raises:
        DataError: h5py is missing, the file is not HDF5, a key is missing, or the per-sample
            arrays do not match.
    """
    path = Path(path)
    h5py = _h5py()
    if not path.is_file():
        raise DataError(f"an HDF5 event file must exist, but {path} does not.")
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in ("spikes/times", "spikes/units", "labels") if k not in f]
            if missing:
                raise DataError(
                    f"{path} must hold spikes/times, spikes/units and labels (SHD layout), "
                    f"but lacks {', '.join(missing)}."
                )
            times = list(f["spikes/times"][()])
            units = list(f["spikes/units"][()])
            labels = np.asarray(f["labels"][()])
    except OSError as exc:
        raise DataError(f"{path} must be a readable HDF5 file, but got {exc}.") from None
    if len(times) != len(units) or len(times) != len(labels):
        raise DataError(
            f"{path} must have as many spikes/times, spikes/units and labels entries, but got "
            f"{len(times)}, {len(units)} and {len(labels)}."
        )
    lengths = np.array([np.size(t) for t in times], np.int64)
    bad = [i for i, (t, u) in enumerate(zip(times, units)) if np.size(t) != np.size(u)]
    if bad:
        raise DataError(
            f"{path} sample {bad[0]} must have one unit per spike time, but has "
            f"{np.size(times[bad[0]])} times and {np.size(units[bad[0]])} units."
        )
    t = np.concatenate([np.ravel(v) for v in times]) if times else np.zeros(0)
    u = np.concatenate([np.ravel(v) for v in units]) if units else np.zeros(0, np.int64)
    rec = from_arrays(
        t=t,
        c=u,
        y=np.zeros(len(u), np.int64),
        x=np.zeros(len(u), np.int64),
        lengths=lengths,
        labels=labels,
        where=str(path),
        time_unit="s",
        kind="cochlea",
    )
    channels = max(SHD_CHANNELS, rec.sensor[0])
    return rec.with_sensor((channels, 1, 1))


def sibling_test_file(train: Path) -> Path | None:
    """The test file beside a training file: ``shd_train.h5`` -> ``shd_test.h5``."""
    name = train.name
    if "train" not in name:
        return None
    candidate = train.with_name(name.replace("train", "test"))
    return candidate if candidate.is_file() and candidate != train else None


def read_hdf5_pair(path: str | Path) -> tuple[EventRecordings, EventRecordings | None]:
    """Read a training file and, when it exists, its ``*test*`` sibling; or a folder holding
    ``*train*.h5`` and ``*test*.h5``."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and "train" in p.name)
        if not found:
            raise DataError(f"{path} must hold a *train*.h5 file (SHD layout), but has none.")
        path = found[0]
    train = read_shd(path)
    test_path = sibling_test_file(path)
    test = read_shd(test_path) if test_path is not None else None
    return train, test
