"""Bin event recordings into ``T`` frames per sample, over each sample's own time window."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from spikefit_search.data.events import EventRecordings
from spikefit_search.exceptions import ConfigError

if TYPE_CHECKING:
    from spikefit_search.data.datasets import Dataset

BIN_MODES = ("count", "binary")
_CHUNK_CELLS = 1 << 24
"""Frame cells counted at once (bounds the temporary count buffer to 128 MiB)."""


@dataclass(frozen=True)
class Binning:
    """How event recordings become network input.

    Args:
        timesteps: frames ``T`` per sample. Sample ``i``'s window, from its first to its last
            event, is cut into ``T`` equal bins (the last event falls in the last bin).
        mode: ``"count"`` (events per cell, saturating at 255) or ``"binary"`` (1 if any).
        downsample: spatial factor: pixel ``(y, x)`` goes to ``(y // d, x // d)`` (a camera's
            events are summed over ``d x d`` blocks); 1 keeps the sensor's resolution.
        channel_group: adjacent channels summed: 2 merges a camera's two polarities, ``g`` turns a
            cochlea's ``C`` channels into ``ceil(C / g)``.
    """

    timesteps: int = 10
    mode: Literal["count", "binary"] = "count"
    downsample: int = 1
    channel_group: int = 1

    def __post_init__(self) -> None:
        for name in ("timesteps", "downsample", "channel_group"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"binning {name} must be a positive integer, but got {value!r}.")
        if self.mode not in BIN_MODES:
            raise ConfigError(
                f"binning mode must be one of {', '.join(BIN_MODES)}, but got {self.mode!r}."
            )

    def frame_shape(self, sensor: tuple[int, int, int]) -> tuple[int, int, int]:
        """``(C, H, W)`` of one frame for a sensor of shape ``sensor``."""
        c, h, w = sensor
        d, g = self.downsample, self.channel_group
        return (math.ceil(c / g), math.ceil(h / d), math.ceil(w / d))


def bin_events(rec: EventRecordings, binning: Binning) -> np.ndarray:
    """Frames of every sample: uint8 array ``(N, T, C, H, W)`` (see :class:`Binning`).

    Example:
        >>> import numpy as np
        >>> from spikefit_search.data.events import from_arrays
        >>> rec = from_arrays(t=np.array([0.0, 50.0, 100.0]), c=np.array([1, 0, 1]),
        ...     y=np.zeros(3, int), x=np.array([0, 1, 1]), lengths=np.array([3]),
        ...     labels=np.array([0]), where="example")
        >>> bin_events(rec, Binning(timesteps=2))[0, :, :, 0, :].tolist()
        [[[0, 0], [1, 0]], [[0, 1], [0, 1]]]
    """
    steps = binning.timesteps
    fc, fh, fw = binning.frame_shape(rec.sensor)
    n = rec.n_samples
    cells = steps * fc * fh * fw
    out = np.zeros((n, steps, fc, fh, fw), np.uint8)
    if rec.n_events == 0:
        return out
    lengths = np.diff(rec.offsets)
    sample = np.repeat(np.arange(n), lengths)
    starts = np.full(n, np.inf)
    ends = np.full(n, -np.inf)
    np.minimum.at(starts, sample, rec.t)
    np.maximum.at(ends, sample, rec.t)
    span = (ends - starts)[sample]
    rel = rec.t - starts[sample]
    with np.errstate(invalid="ignore", divide="ignore"):
        b = np.where(span > 0, np.floor(rel / span * steps), 0)
    b = np.clip(b, 0, steps - 1).astype(np.int64)
    c = rec.c.astype(np.int64) // binning.channel_group
    y = rec.y.astype(np.int64) // binning.downsample
    x = rec.x.astype(np.int64) // binning.downsample
    cell = ((b * fc + c) * fh + y) * fw + x
    per_chunk = max(1, _CHUNK_CELLS // cells)
    flat = out.reshape(n, cells)
    for first in range(0, n, per_chunk):
        last = min(n, first + per_chunk)
        lo, hi = rec.offsets[first], rec.offsets[last]
        idx = (sample[lo:hi] - first) * cells + cell[lo:hi]
        counts = np.bincount(idx, minlength=(last - first) * cells).reshape(last - first, cells)
        flat[first:last] = (counts > 0) if binning.mode == "binary" else np.minimum(counts, 255)
    return out


BINNING_FLAGS = {
    "mode": "--bin-mode",
    "downsample": "--downsample",
    "channel_group": "--channel-group",
}
"""The option that sets each :class:`Binning` field besides ``timesteps``."""


def check_binning_options(mode: str, downsample: int, channel_group: int) -> None:
    """Refuse ``--bin-mode``, ``--downsample`` or ``--channel-group`` values binning cannot take."""
    if mode not in BIN_MODES:
        raise ConfigError(f"--bin-mode must be one of {', '.join(BIN_MODES)}, but got {mode!r}.")
    for flag, value in (("--downsample", downsample), ("--channel-group", channel_group)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{flag} must be a positive integer, but got {value!r}.")


def check_binning_applies(
    binning: Binning, data: Dataset, names: dict[str, str] = BINNING_FLAGS
) -> None:
    """Refuse binning settings on frame data, where nothing is binned (they would be ignored).

    Args:
        names: how each setting is named in the error (default the command-line options).
    """
    if data.timesteps is not None:
        return
    default = Binning(timesteps=binning.timesteps)
    for attr, name in names.items():
        value = getattr(binning, attr)
        if value != getattr(default, attr):
            raise ConfigError(
                f"{name} applies only to event data (recordings binned into frames), but got "
                f"{name} {value} with dataset {data.name}, which holds images."
            )
