"""The family of a profile that names none: ``hardware_profiles/generic.yaml`` and a user's own
chip. Any mapping model, energy model and chip neuron the package registers may be used.
"""

from __future__ import annotations

from spikefit_search.hardware.chips._family import ChipFamily, register

GENERIC = register(
    ChipFamily(
        name="generic",
        title="Any chip (the template)",
        mapping_models=None,
        energy_models=None,
        neurons=None,
    )
)
