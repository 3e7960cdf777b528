"""Small event files written byte for byte from each format's layout, shared by the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def bin_bytes(events: list[tuple[int, int, int, int]]) -> bytes:
    """N-MNIST 40-bit events (x, y, p, t), written from the layout: bits 39-32 x, 31-24 y,
    bit 23 polarity, bits 22-0 time stamp; most significant byte first."""
    out = bytearray()
    for x, y, p, t in events:
        out += bytes([x, y, (p << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


def make_nmnist(root: Path, *, n_train: int = 6, n_test: int = 2, classes: int = 2) -> Path:
    """A tiny N-MNIST folder on a 34x34 sensor: class k's events fall in quadrant k % 4."""
    rng = np.random.default_rng(0)
    for split, n in (("Train", n_train), ("Test", n_test)):
        for k in range(classes):
            folder = root / split / str(k)
            folder.mkdir(parents=True)
            for i in range(n):
                m = 30
                ys = rng.integers(0, 17, m) + 17 * (k % 2)
                xs = rng.integers(0, 17, m) + 17 * ((k // 2) % 2)
                ts = np.sort(rng.integers(0, 300_000, m))
                ps = rng.integers(0, 2, m)
                events = list(zip(xs.tolist(), ys.tolist(), ps.tolist(), ts.tolist()))
                events.append((33, 33, 1, 300_000))  # a hot pixel in the corner: sensor 34x34
                (folder / f"{i:05d}.bin").write_bytes(bin_bytes(events))
    return root


def cochlea_samples(n: int, classes: int, channels: int = 700) -> tuple[list, np.ndarray]:
    rng = np.random.default_rng(1)
    samples, labels = [], []
    for i in range(n):
        k = i % classes
        m = 40
        units = rng.integers(0, channels // classes, m) + k * (channels // classes)
        times = np.sort(rng.uniform(0, 0.8, m))
        samples.append((times, units))
        labels.append(k)
    return samples, np.array(labels)


def write_shd(path: Path, samples: list, labels: np.ndarray) -> None:
    """The SHD layout: spikes/times (ragged float, s), spikes/units (ragged uint16), labels."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (len(samples),), dtype=h5py.vlen_dtype("f4"))
        units = f.create_dataset("spikes/units", (len(samples),), dtype=h5py.vlen_dtype("u2"))
        for i, (t, u) in enumerate(samples):
            times[i] = t.astype("f4")
            units[i] = u.astype("u2")
        f.create_dataset("labels", data=labels.astype("u2"))
        f.create_dataset("extra/speaker", data=np.zeros(len(samples), "u2"))
