"""Real datasets that load offline, split into train / validation / calibration / test."""

from __future__ import annotations

from spikefit_search.data.datasets import DATASETS, Dataset, load_dataset
from spikefit_search.data.idx import read_idx

__all__ = ["DATASETS", "Dataset", "load_dataset", "read_idx"]
