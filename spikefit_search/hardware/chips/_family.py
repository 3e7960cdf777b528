"""What the package knows of one chip family, and the registry of families."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from spikefit_search._registry import Registry

if TYPE_CHECKING:
    from spikefit_search.snn.network import SpikingNetwork


@dataclass(frozen=True)
class Exporter:
    """A file in the chip's own form that ``spikefit-search retrain`` writes beside the
    checkpoint, for a network that runs the family's neuron.

    Args:
        file_name: the file's name in the output folder.
        description: what the file holds, for the docs.
        applies: whether ``model`` can be written in this form.
        write: ``write(path, model, dt_s=...)`` writes it (``dt_s``: one step, in seconds)
            and returns the path.
    """

    file_name: str
    description: str
    applies: Callable[[SpikingNetwork], bool]
    write: Callable[..., Path]


@dataclass(frozen=True)
class ChipFamily:
    """One chip family: the profiles whose ``family`` names it and the code that models them.

    The limits are the profiles' data (``hardware_profiles/*.yaml``); the rest is named here.

    Args:
        name: what a profile's ``family`` holds.
        title: the family in words.
        mapping_models: the ``mapping.model`` values its profiles may use (registered in
            :data:`spikefit_search.hardware.mapping.MAPPING_MODELS`); None: any.
        energy_models: the ``energy.model`` values its profiles may use (registered in
            :data:`spikefit_search.hardware.energy_model.ENERGY_MODELS`); None: any.
        neurons: the chip neurons (``neuron.family``, simulated by
            :mod:`spikefit_search.snn.chip`) its profiles may run; ``()``: none, the network
            stays float; None: any.
        exporters: files in the chip's own form written for a network of its neuron.
        nir_readers: the NIR readers of the chip's own toolchain (of
            :data:`spikefit_search.reporting.nir_export.READERS`; ``reader_support`` says
            which network each runs as we do).
    """

    name: str
    title: str
    mapping_models: tuple[str, ...] | None
    energy_models: tuple[str, ...] | None
    neurons: tuple[str, ...] | None
    exporters: tuple[Exporter, ...] = ()
    nir_readers: tuple[str, ...] = ()


CHIPS: Registry[ChipFamily] = Registry("chip family")
"""Every family, by name; filled by the modules of :mod:`spikefit_search.hardware.chips`."""


def register(family: ChipFamily) -> ChipFamily:
    """Add ``family`` to :data:`CHIPS` and return it."""
    CHIPS.add(family.name, family)
    return family
