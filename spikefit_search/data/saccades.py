"""EMULATED event-camera recordings of the embedded digits, for demonstrations only.

No event dataset ships offline, so this makes a stand-in the way N-MNIST was recorded (Orchard
et al. 2015: a camera moved in three saccades in front of a still image), but in software: each
8x8 digit, scaled to 24x24 and centred on a 34x34 sensor, is moved along a triangle of three
100 ms saccades, and an ideal DVS pixel emits an ON (OFF) event whenever its log intensity has
risen (fallen) by a contrast threshold since its last event. There is no sensor noise, no
refractory period and no bandwidth limit: these are **emulated events, not a recording**, and
every name that carries them says so (dataset ``emulated-saccade-digits``).
"""

from __future__ import annotations

import numpy as np

from spikefit_search.data.event_folder import EVENT_DTYPE
from spikefit_search.data.events import EventRecordings, from_arrays

EMULATED_DIGITS = "emulated-saccade-digits"
"""The dataset name of the emulated events (``--dataset emulated-saccade-digits``)."""

SENSOR = 34
SCALE = 3
SACCADE_US = 100_000
STEPS_PER_SACCADE = 25
CONTRAST = 0.3
"""Log-intensity change per event (a typical DVS contrast threshold is 0.1-0.3)."""
EPS = 0.1
"""Added to the intensity before the log (dark pixels would otherwise be infinitely sensitive)."""
TRIANGLE = np.array([[0.0, 0.0], [3.0, 1.5], [0.0, 3.0], [0.0, 0.0]])
"""Saccade vertices (dy, dx) in pixels: three straight moves that return to the start."""


MARGIN = 5
"""Blank border around the canvas, wider than any shift."""


def _canvas(images: np.ndarray) -> np.ndarray:
    """The images ``(N, 8, 8)`` scaled and placed on a blank canvas with a margin."""
    big = np.kron(images, np.ones((1, SCALE, SCALE), np.float32))
    size = big.shape[-1]
    canvas = np.zeros((len(images), SENSOR + 2 * MARGIN, SENSOR + 2 * MARGIN), np.float32)
    at = MARGIN + (SENSOR - size - int(TRIANGLE.max())) // 2
    canvas[:, at : at + size, at : at + size] = big
    return canvas


def _render(canvas: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """What the sensor sees of ``canvas`` shifted by (dy, dx) pixels (bilinear)."""
    iy, ix = int(np.floor(dy)), int(np.floor(dx))
    fy, fx = dy - iy, dx - ix

    def view(sy: int, sx: int) -> np.ndarray:
        y, x = MARGIN - iy - sy, MARGIN - ix - sx
        return canvas[:, y : y + SENSOR, x : x + SENSOR]

    return (
        (1 - fy) * (1 - fx) * view(0, 0)
        + fy * (1 - fx) * view(1, 0)
        + (1 - fy) * fx * view(0, 1)
        + fy * fx * view(1, 1)
    )


def saccade_events(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Emulated DVS events of images ``(N, 8, 8)`` in [0, 1], each moved in three saccades.

    Returns the events of all images, sample after sample and in time order within a sample,
    as a structured array with fields ``x, y, t, p`` (t in microseconds, p 1 = ON), and the
    number of events of each image.
    """
    steps = 3 * STEPS_PER_SACCADE
    dt = 3 * SACCADE_US / steps
    canvas = _canvas(images)
    ref = np.log(_render(canvas, 0.0, 0.0) + EPS)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("s", "y", "x", "p", "t")}
    for k in range(1, steps + 1):
        seg = min((k - 1) // STEPS_PER_SACCADE, 2)
        frac = (k - seg * STEPS_PER_SACCADE) / STEPS_PER_SACCADE
        dy, dx = TRIANGLE[seg] + frac * (TRIANGLE[seg + 1] - TRIANGLE[seg])
        level = np.log(_render(canvas, dy, dx) + EPS)
        n = np.trunc((level - ref) / CONTRAST).astype(int)  # signed number of events
        idx = np.nonzero(n)
        counts = np.abs(n[idx])
        for key, col in zip(("s", "y", "x"), idx):
            cols[key].append(np.repeat(col, counts))
        cols["p"].append(np.repeat(n[idx] > 0, counts))
        cols["t"].append(np.full(int(counts.sum()), round(k * dt)))
        ref[idx] += n[idx] * CONTRAST
    merged = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.argsort(merged["s"], kind="stable")  # steps were appended in time order
    events = np.zeros(len(order), EVENT_DTYPE)
    for key in ("x", "y", "t", "p"):
        events[key] = merged[key][order]
    return events, np.bincount(merged["s"], minlength=len(images)).astype(np.int64)


def emulated_digits(_: object = None) -> tuple[EventRecordings, EventRecordings | None]:
    """Emulated saccade events of scikit-learn's digits, split as ``digits`` is (seeded,
    stratified 20% test)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x / 16.0, y, test_size=0.2, stratify=y, random_state=0
    )
    parts = []
    for images, labels, split in ((x_tr, y_tr, "train"), (x_te, y_te, "test")):
        ev, lengths = saccade_events(images.reshape(-1, 8, 8))
        parts.append(
            from_arrays(
                t=ev["t"],
                c=ev["p"].astype(np.int64),
                y=ev["y"],
                x=ev["x"],
                lengths=lengths,
                labels=labels,
                where=f"{EMULATED_DIGITS} ({split})",
                sensor=(2, SENSOR, SENSOR),
            )
        )
    return parts[0], parts[1]
