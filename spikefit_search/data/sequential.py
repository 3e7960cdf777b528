"""Sequential digits: the embedded 8x8 digits read one image row per time step.

A temporal task made from static images (not a recording): frame ``t`` holds row ``t`` of a
digit, its 8 pixels as 8 input channels, each pixel's integer intensity (0..16 in
scikit-learn's digits) as that many events. A network sees one row at a time, so telling the
digits apart takes memory of the rows before; it is the 8-row version of the row-by-row
(sequential) MNIST task of the recurrent-network literature. With ``T = 8 k`` frames, every row
lasts ``k`` steps and its events are spread over them (``v // k`` a step, the remainder on the
first steps).
"""

from __future__ import annotations

import numpy as np

from spikefit_search.data.binning import Binning

SEQUENTIAL_DIGITS = "sequential-digits"
"""The dataset name (``--dataset sequential-digits``)."""
ROWS = 8
STEP_MS = 1.0
"""Time one frame stands for (Xylo's default ``dt``), for the recording window reported."""


def row_frames(images: np.ndarray, binning: Binning) -> np.ndarray:
    """Frames ``(N, 8 k, C, 1, 1)`` uint8 of integer images ``(N, 8, 8)``: row ``r`` in frames
    ``r k .. r k + k - 1``, ``k = max(1, T // 8)``, its columns as channels (summed over
    ``binning.channel_group`` adjacent columns; ``binning.mode="binary"`` keeps 0/1)."""
    k = max(1, binning.timesteps // ROWS)
    counts = images.astype(np.int64)
    g = binning.channel_group
    if g > 1:
        pad = (-counts.shape[2]) % g
        counts = np.pad(counts, ((0, 0), (0, 0), (0, pad)))
        counts = counts.reshape(counts.shape[0], ROWS, -1, g).sum(axis=3)
    per_step = counts[:, :, None, :] // k + (
        np.arange(k)[None, None, :, None] < counts[:, :, None, :] % k
    )
    frames = per_step.reshape(counts.shape[0], ROWS * k, counts.shape[2])
    if binning.mode == "binary":
        frames = np.minimum(frames, 1)
    return np.minimum(frames, 255).astype(np.uint8)[:, :, :, None, None]


def sequential_digits(binning: Binning) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)``: scikit-learn's digits, split as ``digits`` is
    (seeded, stratified 20 % test), as :func:`row_frames`."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    images = x.reshape(-1, ROWS, 8)
    x_tr, x_te, y_tr, y_te = train_test_split(images, y, test_size=0.2, stratify=y, random_state=0)
    return row_frames(x_tr, binning), y_tr, row_frames(x_te, binning), y_te
