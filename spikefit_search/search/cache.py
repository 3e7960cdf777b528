"""Float warm-ups shared by the candidates of a run.

SpikeFit's float warm-up (two thirds of a candidate's epochs) depends only on the architecture
(``NetworkConfig``: layers, widths, timesteps, neuron and encoder settings), the warm-up's
epochs, batch size, learning rate, schedule and seed, the training data and the device type;
the compression parameters a search varies most (``n_values``, ``bits``, ``rho``) act after it.
Candidates that agree on all of these reuse one warm-up, kept in the run folder as
``warmups/<key>.pt`` so that a resumed search reuses it too. The network is the one before
pruning: a space's ``width`` and ``channels`` are these parent widths, on a grid, and each
candidate's ``rho`` prunes its copy of the shared warm-up to its own width.

Safe under several workers and resume: a per-key ``flock`` on ``<key>.lock`` makes one worker
train while another asking for the same key waits and then loads it (it would otherwise have
trained the same network); the kernel releases the lock of a process that dies, so a killed
worker never blocks the next run. A file is written to a temporary name and renamed, so a
reader never sees half of one, and an unreadable file is trained again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from spikefit_search.compression import PipelineConfig
from spikefit_search.data import Dataset
from spikefit_search.snn import SpikingNetwork

CACHE_DIR = "warmups"
FORMAT = 1


def data_fingerprint(data: Dataset) -> str:
    """A short hash of the training split (labels in full, a strided sample of the inputs)."""
    h = hashlib.sha256()
    h.update(data.name.encode())
    x, y = data.x_train, data.y_train
    h.update(repr((tuple(x.shape), str(x.dtype), tuple(y.shape))).encode())
    h.update(y.detach().cpu().numpy().tobytes())
    step = max(1, x.shape[0] // 512)
    h.update(x[::step].detach().cpu().float().numpy().tobytes())
    return h.hexdigest()[:16]


def warmup_key(cfg: PipelineConfig, data_id: str, device: str) -> str:
    """What a float warm-up depends on, hashed."""
    seed = cfg.seed if cfg.warmup_seed is None else cfg.warmup_seed
    fields: dict[str, Any] = {
        "format": FORMAT,
        "network": cfg.network.to_dict(),
        "epochs": cfg.warmup_epochs,
        "batch_size": cfg.batch_size,
        "lr": cfg.lr,
        "schedule": cfg.schedule,
        "seed": seed,
        "data": data_id,
        "device": torch.device(device).type,
    }
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class WarmupCache:
    """Warm-ups of one run folder, keyed by :func:`warmup_key`.

    Args:
        folder: where the ``.pt`` files live (created on first write).
        data: the run's data (fingerprinted once).
        device: where candidates train.
    """

    def __init__(self, folder: Path, data: Dataset, device: str) -> None:
        self.folder = Path(folder)
        self.device = device
        self.data_id = data_fingerprint(data)
        self.stats = CacheStats()

    def path(self, cfg: PipelineConfig) -> Path:
        return self.folder / f"{warmup_key(cfg, self.data_id, self.device)}.pt"

    @contextlib.contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _load(self, path: Path, cfg: PipelineConfig) -> SpikingNetwork | None:
        try:
            blob = torch.load(path, map_location=self.device, weights_only=True)
            model = SpikingNetwork(cfg.network).to(self.device)
            model.load_state_dict(blob["state_dict"])
        except Exception:  # unreadable or from another layout: train again and replace it
            return None
        return model

    def get_or_train(
        self, cfg: PipelineConfig, train: Callable[[], SpikingNetwork]
    ) -> SpikingNetwork:
        """The warm-up for ``cfg``: loaded when a candidate before trained it, else trained by
        ``train()`` and stored. The caller must copy the network before changing it."""
        path = self.path(cfg)
        with self._locked(path):
            if path.is_file():
                model = self._load(path, cfg)
                if model is not None:
                    self.stats.hits += 1
                    return model
            model = train()
            self.stats.misses += 1
            state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".pt")
            try:
                with os.fdopen(fd, "wb") as handle:
                    torch.save({"state_dict": state, "network": cfg.network.to_dict()}, handle)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            return model
