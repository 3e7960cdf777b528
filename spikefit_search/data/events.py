"""Event recordings: the samples of an event camera or a spiking cochlea, before binning.

Every reader (N-MNIST ``.bin`` folders, SHD/SSC HDF5, event ``.npz``, folders of numpy structured
arrays) returns :class:`EventRecordings`: the events of all samples of one split concatenated,
with per-sample offsets. A camera event is ``(t, x, y, polarity)``; a cochlea event is
``(t, channel)``. Internally both are ``(t, c, y, x)`` on a sensor of shape ``(C, H, W)``: a
camera has ``C = 2`` polarity channels, a cochlea has ``C`` channels and ``H = W = 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spikefit_search.exceptions import DataError

TIME_UNITS_US = {"us": 1.0, "ms": 1e3, "s": 1e6}
"""Microseconds per unit of the time stamps a file may declare."""


@dataclass(frozen=True)
class EventRecordings:
    """The event recordings of one split, concatenated sample after sample.

    Args:
        t: time stamps in microseconds (float64), one per event.
        c: channel of each event: polarity (0 = OFF, 1 = ON) for a camera, the channel for a
            cochlea.
        y, x: pixel row and column (0 for a cochlea).
        offsets: ``n_samples + 1`` indices; sample ``i`` holds events
            ``offsets[i]:offsets[i + 1]``.
        labels: one non-negative integer class per sample.
        sensor: ``(C, H, W)``, the size of the sensor every coordinate lies within.
        kind: ``"camera"`` or ``"cochlea"`` (how the documentation and errors name things).
    """

    t: np.ndarray
    c: np.ndarray
    y: np.ndarray
    x: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    sensor: tuple[int, int, int]
    kind: str = "camera"

    @property
    def n_samples(self) -> int:
        return len(self.labels)

    @property
    def n_events(self) -> int:
        return len(self.t)

    def durations_us(self) -> np.ndarray:
        """Each sample's time window, last event minus first (0 for fewer than two events)."""
        out = np.zeros(self.n_samples)
        lengths = np.diff(self.offsets)
        full = np.flatnonzero(lengths > 0)
        if full.size:
            # empty samples add no events, so each reduction spans exactly one sample
            starts = self.offsets[full]
            out[full] = np.maximum.reduceat(self.t, starts) - np.minimum.reduceat(self.t, starts)
        return out

    def with_sensor(self, sensor: tuple[int, int, int]) -> EventRecordings:
        """The same events on a (larger) sensor, e.g. the union of the train and test sensors."""
        return EventRecordings(
            self.t, self.c, self.y, self.x, self.offsets, self.labels, sensor, self.kind
        )


def recordings(
    samples: Sequence[np.ndarray],
    labels: Sequence[int] | np.ndarray,
    *,
    where: str,
    sensor: tuple[int, int, int] | None = None,
    time_unit: str = "us",
) -> EventRecordings:
    """Build :class:`EventRecordings` from one numpy structured array per sample.

    Each sample has fields ``x, y, t, p`` (a camera; ``p`` is the polarity, 0/1, -1/1 or bool)
    or ``channel, t`` (a cochlea); other fields are ignored. ``t`` is in ``time_unit``
    (``us``, ``ms`` or ``s``). ``sensor`` is ``(C, H, W)``; when None it is inferred as one
    more than the largest coordinate.

    Raises:
        DataError: a sample lacks the fields, holds negative or non-finite values, the labels
            do not match the samples, or a coordinate lies outside ``sensor``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(samples):
        raise DataError(
            f"{where} must have one label per sample, but got {len(samples)} samples and "
            f"labels of shape {labels.shape}."
        )
    if not samples:
        raise DataError(f"{where} must hold at least one sample, but holds none.")
    kinds = set()
    parts: dict[str, list[np.ndarray]] = {"t": [], "c": [], "y": [], "x": []}
    for i, s in enumerate(samples):
        names = s.dtype.names or ()
        if {"x", "y", "t", "p"} <= set(names):
            kinds.add("camera")
            p = np.asarray(s["p"])
            cols = {"c": (p > 0).astype(np.int64), "y": s["y"], "x": s["x"]}
        elif {"channel", "t"} <= set(names):
            kinds.add("cochlea")
            zero = np.zeros(len(s), np.int64)
            cols = {"c": s["channel"], "y": zero, "x": zero}
        else:
            raise DataError(
                f"{where} sample {i} must be a structured array with fields x, y, t, p or "
                f"channel, t, but got fields {list(names) or s.dtype}."
            )
        parts["t"].append(np.asarray(s["t"], np.float64))
        for key, col in cols.items():
            parts[key].append(np.asarray(col))
    if len(kinds) > 1:
        raise DataError(f"{where} must hold camera or cochlea samples, but mixes both.")
    lengths = np.array([len(s) for s in samples], np.int64)
    return from_arrays(
        t=np.concatenate(parts["t"]),
        c=np.concatenate(parts["c"]),
        y=np.concatenate(parts["y"]),
        x=np.concatenate(parts["x"]),
        lengths=lengths,
        labels=labels,
        where=where,
        sensor=sensor,
        time_unit=time_unit,
        kind=kinds.pop(),
    )


def from_arrays(
    *,
    t: np.ndarray,
    c: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    lengths: np.ndarray,
    labels: np.ndarray,
    where: str,
    sensor: tuple[int, int, int] | None = None,
    time_unit: str = "us",
    kind: str = "camera",
) -> EventRecordings:
    """Validate concatenated event columns and per-sample ``lengths`` (see :func:`recordings`)."""
    if time_unit not in TIME_UNITS_US:
        raise DataError(
            f"{where} time unit must be one of {', '.join(TIME_UNITS_US)}, but got {time_unit!r}."
        )
    labels = np.asarray(labels)
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer) or (lengths < 0).any():
        raise DataError(
            f"{where} event counts per sample must be non-negative integers, but got "
            f"{lengths.dtype} of shape {lengths.shape}."
        )
    if labels.ndim != 1 or len(labels) != len(lengths):
        raise DataError(
            f"{where} must have one label per sample, but got {len(lengths)} samples and "
            f"labels of shape {labels.shape}."
        )
    if len(labels) == 0:
        raise DataError(f"{where} must hold at least one sample, but holds none.")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise DataError(f"{where} labels must be non-negative integers, but got {labels.dtype}.")
    n = int(lengths.sum())
    cols = {"t": t, "x": x, "y": y, "channel" if kind == "cochlea" else "p": c}
    for name, col in cols.items():
        col = np.asarray(col)
        if col.ndim != 1 or len(col) != n:
            raise DataError(
                f"{where} {name} must hold one value per event ({n} by the per-sample counts), "
                f"but got shape {col.shape}."
            )
        if not (np.issubdtype(col.dtype, np.number) or col.dtype == np.bool_):
            raise DataError(f"{where} {name} must be numeric, but got {col.dtype}.")
    t_us = np.asarray(t, np.float64) * TIME_UNITS_US[time_unit]
    if not np.isfinite(t_us).all() or (n and t_us.min() < 0):
        raise DataError(f"{where} time stamps must be finite and non-negative, but some are not.")
    ints = {}
    for name, col in (("x", x), ("y", y), ("c", c)):
        arr = np.asarray(col)
        label = "p" if name == "c" and kind == "camera" else name
        integral = arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.integer)
        if not integral and not np.all(np.mod(arr, 1) == 0):
            raise DataError(f"{where} {label} values must be integers, but got {arr.dtype}.")
        arr = arr.astype(np.int64)
        if n and arr.min() < 0:
            raise DataError(f"{where} {label} values must be non-negative, but got {arr.min()}.")
        ints[name] = arr
    found = tuple(int(ints[k].max()) + 1 if n else 1 for k in ("c", "y", "x"))
    if kind == "camera":
        if found[0] > 2:
            raise DataError(f"{where} polarities must be 0 or 1, but got {found[0] - 1}.")
        found = (2, found[1], found[2])  # two polarity channels, even if one never occurs
    if sensor is None:
        sensor = found  # type: ignore[assignment]
    elif any(f > s for f, s in zip(found, sensor)):
        raise DataError(
            f"{where} events must lie within the sensor (C, H, W) = {tuple(sensor)}, but reach "
            f"{found}."
        )
    assert sensor is not None
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return EventRecordings(
        t=t_us,
        c=ints["c"].astype(np.int32),
        y=ints["y"].astype(np.int32),
        x=ints["x"].astype(np.int32),
        offsets=offsets,
        labels=labels.astype(np.int64),
        sensor=(int(sensor[0]), int(sensor[1]), int(sensor[2])),
        kind=kind,
    )


def common_sensor(*parts: EventRecordings) -> tuple[int, int, int]:
    """The smallest sensor that holds every part (train and test may reach different sizes)."""
    return (
        max(p.sensor[0] for p in parts),
        max(p.sensor[1] for p in parts),
        max(p.sensor[2] for p in parts),
    )
