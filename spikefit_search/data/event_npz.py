"""Event recordings in one ``.npz`` file, no pickles: per split (``train``, ``test``) the events of
all samples concatenated, the number of events of each sample, and the labels.

=====================  ======================================================================
key                    content
=====================  ======================================================================
``train_lengths``      int, events of each sample (``n`` entries); marks an event ``.npz``
``train_labels``       int, class of each sample (``n`` entries)
``train_events``       structured array with fields ``x, y, t, p`` (camera) or ``channel, t``
                       (cochlea), all samples' events one after the other; or instead
``train_t`` ...        plain 1-D arrays ``train_t, train_x, train_y, train_p`` or
                       ``train_t, train_channel``
``test_*``             the same for the test split (optional: else carved from train)
``sensor_shape``       optional ``(C, H, W)``: 2 polarity channels for a camera, the channels of
                       a cochlea with ``H = W = 1``; inferred from the largest coordinate if absent
``time_unit``          optional ``"us"`` (default), ``"ms"`` or ``"s"``
=====================  ======================================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from spikefit_search.data.events import EventRecordings, common_sensor, from_arrays
from spikefit_search.exceptions import DataError

MARKER = "train_lengths"


def is_event_npz(path: Path) -> bool:
    """Whether ``path`` is an ``.npz`` in this layout (it holds ``train_lengths``)."""
    if path.suffix != ".npz" or not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as f:
            return MARKER in f.files
    except Exception:  # not a readable npz: the frame loader says why, in one line
        # (zipfile, zlib and numpy raise many kinds; EOFError from an empty file included)
        return False


def _split(f: Any, split: str, where: str, time_unit: str) -> EventRecordings:
    files = set(f.files)
    key = f"{split}_"
    for need in ("lengths", "labels"):
        if key + need not in files:
            raise DataError(f"{where} must hold {key}{need}, but lacks it.")
    if key + "events" in files:
        ev = f[key + "events"]
        names = set(ev.dtype.names or ())
        if {"x", "y", "t", "p"} <= names:
            cols = {"t": ev["t"], "x": ev["x"], "y": ev["y"], "c": ev["p"]}
            kind = "camera"
        elif {"channel", "t"} <= names:
            zero = np.zeros(len(ev), np.int64)
            cols = {"t": ev["t"], "x": zero, "y": zero, "c": ev["channel"]}
            kind = "cochlea"
        else:
            raise DataError(
                f"{where} {key}events must have fields x, y, t, p or channel, t, but got "
                f"{sorted(names) or ev.dtype}."
            )
    elif {key + k for k in ("t", "x", "y", "p")} <= files:
        cols = {k: f[key + ("p" if k == "c" else k)] for k in ("t", "x", "y", "c")}
        kind = "camera"
    elif {key + "t", key + "channel"} <= files:
        zero = np.zeros(len(f[key + "t"]), np.int64)
        cols = {"t": f[key + "t"], "x": zero, "y": zero, "c": f[key + "channel"]}
        kind = "cochlea"
    else:
        raise DataError(
            f"{where} must hold {key}events, or {key}t with {key}x, {key}y, {key}p (or "
            f"{key}channel), but lacks them."
        )
    if kind == "camera":
        cols["c"] = (np.asarray(cols["c"]) > 0).astype(np.int64)
    return from_arrays(
        t=cols["t"],
        c=cols["c"],
        y=cols["y"],
        x=cols["x"],
        lengths=f[key + "lengths"],
        labels=f[key + "labels"],
        where=f"{where} ({split})",
        time_unit=time_unit,
        kind=kind,
    )


def read_event_npz(path: str | Path) -> tuple[EventRecordings, EventRecordings | None]:
    """Read the training and (optional) test recordings of an event ``.npz``.

    Raises:
        DataError: the file is unreadable, a key is missing, or the arrays do not match.
    """
    path = Path(path)
    where = str(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            unit = str(f["time_unit"]) if "time_unit" in f.files else "us"
            train = _split(f, "train", where, unit)
            test = _split(f, "test", where, unit) if "test_lengths" in f.files else None
            shape = np.asarray(f["sensor_shape"]) if "sensor_shape" in f.files else None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} must be a readable .npz file, but got {exc}.") from None
    parts = [p for p in (train, test) if p is not None]
    if len({p.kind for p in parts}) > 1:
        raise DataError(f"{path} splits must both be camera or cochlea events, but differ.")
    if shape is not None:
        if shape.shape != (3,) or not np.issubdtype(shape.dtype, np.integer) or shape.min() < 1:
            raise DataError(
                f"{path} sensor_shape must be three positive integers (C, H, W), but got "
                f"{shape.tolist()}."
            )
        sensor = (int(shape[0]), int(shape[1]), int(shape[2]))
        reached = common_sensor(*parts)
        if any(r > s for r, s in zip(reached, sensor)):
            raise DataError(
                f"{path} events must lie within sensor_shape {sensor}, but reach {reached}."
            )
    else:
        sensor = common_sensor(*parts)
    train = train.with_sensor(sensor)
    return train, (test.with_sensor(sensor) if test is not None else None)


def write_event_npz(
    path: str | Path,
    train: list[np.ndarray],
    train_labels: np.ndarray,
    test: list[np.ndarray] | None = None,
    test_labels: np.ndarray | None = None,
    *,
    sensor_shape: tuple[int, int, int] | None = None,
    time_unit: str = "us",
) -> None:
    """Write per-sample structured arrays (fields x, y, t, p or channel, t) in this layout."""
    arrays: dict[str, np.ndarray] = {"time_unit": np.array(time_unit)}
    for split, samples, labels in (("train", train, train_labels), ("test", test, test_labels)):
        if samples is None or labels is None:
            continue
        arrays[f"{split}_events"] = np.concatenate(samples) if samples else np.zeros(0)
        arrays[f"{split}_lengths"] = np.array([len(s) for s in samples], np.int64)
        arrays[f"{split}_labels"] = np.asarray(labels, np.int64)
    if sensor_shape is not None:
        arrays["sensor_shape"] = np.asarray(sensor_shape, np.int64)
    np.savez(path, **arrays)  # type: ignore[arg-type]
