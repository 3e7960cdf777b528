"""Real datasets that load offline, split into train / validation / calibration / test.

Static images are rate-coded by the network; event recordings (N-MNIST-style ``.bin`` folders,
SHD HDF5, event ``.npz``) are binned into frames here (:class:`Binning`).
"""

from __future__ import annotations

from spikefit_search.data.binning import Binning, bin_events
from spikefit_search.data.datasets import DATASETS, Dataset, load_dataset, parse_classes
from spikefit_search.data.event_folder import read_bin, read_event_folder, write_bin
from spikefit_search.data.event_npz import read_event_npz, write_event_npz
from spikefit_search.data.event_sources import EVENT_FORMATS, event_format, load_event_frames
from spikefit_search.data.events import EventRecordings, recordings
from spikefit_search.data.hdf5 import read_shd
from spikefit_search.data.idx import read_idx

__all__ = [
    "DATASETS",
    "EVENT_FORMATS",
    "Binning",
    "Dataset",
    "EventRecordings",
    "bin_events",
    "event_format",
    "load_dataset",
    "load_event_frames",
    "parse_classes",
    "read_bin",
    "read_event_folder",
    "read_event_npz",
    "read_idx",
    "read_shd",
    "recordings",
    "write_bin",
    "write_event_npz",
]
