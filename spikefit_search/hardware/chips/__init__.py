"""One module (or folder) per chip family: what the package knows of a chip besides its limits.

A profile's ``family`` (``hardware_profiles/*.yaml``; ``generic`` when it names none) picks a
:class:`ChipFamily`, which names the family's mapping model, chip neuron, energy model,
exporters and NIR readers; the code only one family uses lives in the family's module
(``xylo/``: the cycles model and ``xylo_spec.npz``; ``speck``: the DYNAP-CNN core model;
``truenorth``: the crossbar model). Adding a chip: ``docs/profiles.md``, "Adding a chip".
"""

from __future__ import annotations

from spikefit_search.hardware.chips import (  # noqa: F401  (each module registers its family)
    akida,
    dynapse2,
    generic,
    loihi,
    speck,
    spinnaker2,
    truenorth,
    xylo,
)
from spikefit_search.hardware.chips._family import CHIPS, ChipFamily, Exporter
from spikefit_search.hardware.energy_model import ENERGY_MODELS, EnergyModel
from spikefit_search.hardware.profile import HardwareProfile

__all__ = [
    "CHIPS",
    "ChipFamily",
    "Exporter",
    "chip_family",
    "energy_model",
    "family_of_neuron",
]


def chip_family(profile: HardwareProfile) -> ChipFamily:
    """The family of ``profile`` (its ``family`` field)."""
    return CHIPS.get(profile.family)


def family_of_neuron(neuron: str) -> ChipFamily | None:
    """The family whose chip neuron ``neuron`` is (``xylo``, ``speck``, ``loihi``), or None."""
    for name in CHIPS:
        family = CHIPS.get(name)
        if family.neurons and neuron in family.neurons:
            return family
    return None


def energy_model(profile: HardwareProfile) -> EnergyModel:
    """The energy model of ``profile`` (its ``energy.model``)."""
    return ENERGY_MODELS.get(profile.energy.model)
